using System.Buffers.Binary;
using System.IO.Compression;

namespace Kedr.Output.Tests.Support;

/// <summary>A minimal PNG decoder (8-bit RGB/RGBA, not interlaced): enough to look at a browser's screenshot.</summary>
internal sealed class Png
{
    public int Width { get; private init; }
    public int Height { get; private init; }
    private byte[] _rgba = [];

    public (byte R, byte G, byte B) Pixel(int x, int y)
    {
        int o = (y * Width + x) * 4;
        return (_rgba[o], _rgba[o + 1], _rgba[o + 2]);
    }

    public static Png Decode(byte[] file)
    {
        if (file.Length < 8 || !file.AsSpan(0, 8).SequenceEqual(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 13, 10, 26, 10 }))
            throw new FormatException("not a PNG");
        int pos = 8, width = 0, height = 0, colorType = 0;
        var idat = new MemoryStream();
        while (pos + 8 <= file.Length)
        {
            int len = BinaryPrimitives.ReadInt32BigEndian(file.AsSpan(pos));
            var type = System.Text.Encoding.ASCII.GetString(file, pos + 4, 4);
            var data = file.AsSpan(pos + 8, len);
            if (type == "IHDR")
            {
                width = BinaryPrimitives.ReadInt32BigEndian(data);
                height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                colorType = data[9];
                if (data[8] != 8 || colorType is not (2 or 6) || data[12] != 0)
                    throw new FormatException($"PNG depth {data[8]}, color type {colorType}, interlace {data[12]}: not handled");
            }
            else if (type == "IDAT") idat.Write(data);
            else if (type == "IEND") break;
            pos += 12 + len;
        }
        int bpp = colorType == 6 ? 4 : 3, stride = width * bpp;
        idat.Position = 0;
        using var z = new ZLibStream(idat, CompressionMode.Decompress);
        var raw = new MemoryStream();
        z.CopyTo(raw);
        var src = raw.ToArray();
        var cur = new byte[stride];
        var prev = new byte[stride];
        var rgba = new byte[width * height * 4];
        for (int y = 0; y < height; y++)
        {
            int f = src[y * (stride + 1)];
            var line = src.AsSpan(y * (stride + 1) + 1, stride);
            for (int i = 0; i < stride; i++)
            {
                int a = i >= bpp ? cur[i - bpp] : 0, b = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
                int v = f switch
                {
                    0 => line[i],
                    1 => line[i] + a,
                    2 => line[i] + b,
                    3 => line[i] + ((a + b) >> 1),
                    4 => line[i] + Paeth(a, b, c),
                    _ => throw new FormatException($"PNG filter {f}"),
                };
                cur[i] = (byte)v;
            }
            for (int x = 0; x < width; x++)
            {
                rgba[(y * width + x) * 4] = cur[x * bpp];
                rgba[(y * width + x) * 4 + 1] = cur[x * bpp + 1];
                rgba[(y * width + x) * 4 + 2] = cur[x * bpp + 2];
                rgba[(y * width + x) * 4 + 3] = bpp == 4 ? cur[x * bpp + 3] : (byte)255;
            }
            (cur, prev) = (prev, cur);
        }
        return new Png { Width = width, Height = height, _rgba = rgba };
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
}
