using Kedr.Cli.Record;

namespace Kedr.Cli.Tests.Record;

/// <summary>
/// <see cref="RawStream"/>'s choice between the mapping of the ring and read(2), off the guest: a file without the
/// raw ioctls (a regular file, the tests' stand-in for kedr_sample's folder; /dev/null) answers ENOTTY and is read
/// with read(2), whole and in order (a ring file that answers so: raw next to it is read); no other error of the
/// first ioctl means "read instead", and of opening the ring only EPERM and EACCES (lockdown: RecorderVmTests). The mapped path itself
/// is the guest's (RecordVmTests, RecorderVmTests).
/// </summary>
public sealed class RawStreamTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("kedr-raw-stream-");

    public void Dispose() => _dir.Delete(true);

    [Fact]
    public void Only_ENOTTY_falls_back_to_read()
    {
        Assert.True(RawStream.FallsBackToRead(25));      // ENOTTY
        Assert.False(RawStream.FallsBackToRead(22));     // EINVAL
        Assert.False(RawStream.FallsBackToRead(14));     // EFAULT
        Assert.False(RawStream.FallsBackToRead(1));      // EPERM
        Assert.False(RawStream.FallsBackToRead(0));
    }

    [Fact]
    public void Only_EPERM_and_EACCES_of_opening_the_ring_fall_back_to_raw()
    {
        Assert.True(RawStream.OpenFallsBackToRead(1));    // EPERM: debugfs under lockdown
        Assert.True(RawStream.OpenFallsBackToRead(13));   // EACCES
        Assert.False(RawStream.OpenFallsBackToRead(2));   // ENOENT
        Assert.False(RawStream.OpenFallsBackToRead(24));  // EMFILE
        Assert.False(RawStream.OpenFallsBackToRead(0));
    }

    /// <summary>A ring file without the ioctls (ENOTTY) next to raw: the stream is raw's, read with read(2).</summary>
    [Fact]
    public void A_ring_without_the_mapping_falls_back_to_reading_raw()
    {
        var raw = Path.Combine(_dir.FullName, "raw");
        var records = Enumerable.Range(0, 2 * 48).Select(i => (byte)i).ToArray();
        File.WriteAllBytes(raw, records);
        File.WriteAllBytes(Path.Combine(_dir.FullName, "ring"), new byte[4 * 48]);
        using var s = RawStream.Open(raw);
        Assert.False(s.Mapped);
        var buffer = new byte[4 * 48];
        Assert.Equal(96, s.Read(buffer));
        Assert.Equal(records, buffer[..96]);
        Assert.Equal(0, s.Read(buffer));
    }

    [Fact]
    public void A_regular_file_is_read_with_read_whole_and_in_order()
    {
        var path = Path.Combine(_dir.FullName, "raw");
        var records = Enumerable.Range(0, 3 * 48).Select(i => (byte)i).ToArray();
        File.WriteAllBytes(path, records);
        using var s = RawStream.Open(path);
        Assert.False(s.Mapped);
        var buffer = new byte[2 * 48];
        Assert.Equal(96, s.Read(buffer));
        Assert.Equal(records[..96], buffer);
        Assert.Equal(48, s.Read(buffer));
        Assert.Equal(records[96..], buffer[..48]);
        Assert.Equal(0, s.Read(buffer));
    }

    [Fact]
    public void Dev_null_is_not_mapped_and_ends_at_once()
    {
        using var s = RawStream.Open("/dev/null");
        Assert.False(s.Mapped);
        Assert.Equal(0, s.Read(new byte[48]));
    }

    /// <summary>
    /// A stand-in kedr_sample for the mapped path: a ring of <paramref name="nr"/> records and a script of answers,
    /// one per GET or PUT: (errno, pos, index, count, flags) for GET, (errno, flags) for PUT.
    /// </summary>
    private sealed unsafe class FakeRing : IDisposable
    {
        private readonly byte* _ring;
        private readonly Queue<(uint Cmd, int Errno, uint Index, uint Count, uint Flags)> _answers = new();

        public FakeRing(int nr)
        {
            _ring = (byte*)System.Runtime.InteropServices.NativeMemory.Alloc((nuint)(nr * 48));
            for (int i = 0; i < nr * 48; i++) _ring[i] = (byte)(i / 48 + 1);
            Stream = RawStream.ForTest(_ring, 48, (uint)nr, Ioctl);
        }

        public RawStream Stream { get; }

        public List<uint> Calls { get; } = [];

        public FakeRing Get(uint index, uint count, int errno = 0)
        {
            _answers.Enqueue((RawLayout.IocGet, errno, index, count, 0));
            return this;
        }

        public FakeRing Put(int errno = 0, uint flags = 0)
        {
            _answers.Enqueue((RawLayout.IocPut, errno, 0, 0, flags));
            return this;
        }

        private int Ioctl(uint cmd, byte* arg)
        {
            Calls.Add(cmd);
            var a = _answers.Dequeue();
            Assert.Equal(a.Cmd, cmd);
            if (a.Errno != 0) return a.Errno;
            if (cmd == RawLayout.IocGet)
            {
                *(uint*)(arg + RawLayout.Span.Index) = a.Index;
                *(uint*)(arg + RawLayout.Span.Count) = a.Count;
            }
            else
                *(uint*)(arg + RawLayout.Span.Flags) = a.Flags;
            return 0;
        }

        public void Dispose()
        {
            Stream.Dispose();
            System.Runtime.InteropServices.NativeMemory.Free(_ring);
        }
    }

    /// <summary>Slot i of the fake ring holds bytes i + 1.</summary>
    private static byte[] Slots(params int[] slots) => slots.SelectMany(i => Enumerable.Repeat((byte)(i + 1), 48)).ToArray();

    /// <summary>
    /// A PUT refused (EINVAL: another opener of the CPU's stream moved the cursor) after an earlier span of the same
    /// call was PUT: the records already PUT are given, and the error comes with the next call.
    /// </summary>
    [Fact]
    public void A_PUT_refused_after_records_were_put_gives_them_and_fails_the_next_read()
    {
        using var f = new FakeRing(4);
        f.Get(0, 2).Put().Get(2, 2).Put(errno: 22);
        var buffer = new byte[4 * 48];
        Assert.Equal(96, f.Stream.Read(buffer));
        Assert.Equal(Slots(0, 1), buffer[..96]);
        var e = Assert.Throws<IOException>(() => f.Stream.Read(buffer));
        Assert.Contains("KEDR_RAW_IOC_PUT", e.Message);
    }

    [Fact]
    public void A_PUT_refused_before_any_record_fails_at_once()
    {
        using var f = new FakeRing(4);
        f.Get(0, 2).Put(errno: 22);
        Assert.Throws<IOException>(() => f.Stream.Read(new byte[4 * 48]));
    }

    /// <summary>A copy PUT says torn is not given; the next GET's records are, and EAGAIN ends the call.</summary>
    [Fact]
    public void A_torn_copy_is_thrown_away()
    {
        using var f = new FakeRing(4);
        f.Get(0, 2).Put(flags: RawLayout.Torn).Get(1, 1).Put().Get(0, 0, errno: 11);
        var buffer = new byte[4 * 48];
        Assert.Equal(48, f.Stream.Read(buffer));
        Assert.Equal(Slots(1), buffer[..48]);
        Assert.Equal(5, f.Calls.Count);
    }

    [Fact]
    public void Records_are_copied_byte_for_byte_at_every_length()
    {
        var src = Enumerable.Range(0, 48 * 7).Select(i => (byte)(i * 7 + 3)).ToArray();
        foreach (int n in new[] { 0, 16, 48, 64, 96, 144, 48 * 7 })
        {
            var dst = new byte[src.Length + 16];
            Array.Fill(dst, (byte)0xee);
            unsafe
            {
                fixed (byte* s = src, d = dst) RawStream.CopyRecords(s, d, n);
            }
            Assert.Equal(src[..n], dst[..n]);
            Assert.All(dst[n..], b => Assert.Equal(0xee, b));
        }
    }
}
