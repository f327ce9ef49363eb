using System.Runtime.InteropServices;

namespace Kedr.Cli.Record;

/// <summary>
/// One per-CPU stream (<c>per_cpu/cpuN/raw</c>) opened non-blocking with open(2)/read(2): a read gives whole
/// records, 0 at the end of the stream, or "nothing now" (EAGAIN), so a reader can stop when asked instead of
/// sitting in a blocked read. A regular file (the tests' stand-in) reads the same way.
/// </summary>
internal sealed partial class RawStream : IDisposable
{
    private const int OpenReadOnly = 0, OpenNonBlock = 0x800, OpenCloseOnExec = 0x80000;
    private const int EAGAIN = 11, EINTR = 4;
    private int _fd;

    private RawStream(int fd) => _fd = fd;

    public static RawStream Open(string path)
    {
        int fd = Native.Open(path, OpenReadOnly | OpenNonBlock | OpenCloseOnExec);
        if (fd < 0) throw new IOException($"cannot open {path}: {Marshal.GetLastPInvokeErrorMessage()}");
        return new RawStream(fd);
    }

    /// <summary>Bytes read into <paramref name="buffer"/>; 0 at the end of the stream; -1 if nothing now.</summary>
    public unsafe int Read(byte[] buffer)
    {
        for (;;)
        {
            nint n;
            fixed (byte* p = buffer) n = Native.Read(_fd, p, buffer.Length);
            if (n >= 0) return (int)n;
            int err = Marshal.GetLastPInvokeError();
            if (err == EINTR) continue;
            if (err == EAGAIN) return -1;
            throw new IOException(Marshal.GetPInvokeErrorMessage(err));
        }
    }

    public void Dispose()
    {
        if (_fd >= 0) Native.Close(_fd);
        _fd = -1;
    }

    private static unsafe partial class Native
    {
        [LibraryImport("libc.so.6", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        public static partial int Open(string path, int flags);

        [LibraryImport("libc.so.6", EntryPoint = "read", SetLastError = true)]
        public static partial nint Read(int fd, byte* buffer, nint count);

        [LibraryImport("libc.so.6", EntryPoint = "close")]
        public static partial int Close(int fd);
    }
}
