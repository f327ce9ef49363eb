using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Kedr.Cli.Record;

/// <summary>
/// One per-CPU stream of kedr_sample opened non-blocking with open(2): a read gives whole records, 0 at the end of the
/// stream, or "nothing now" (EAGAIN), so a reader can stop when asked instead of sitting in a blocked call. The records
/// come through the mapping of the CPU's ring when its folder has a <c>ring</c> file that opens and answers the raw
/// ioctls (kmod/kedr_raw.h, <see cref="RawLayout"/>): KEDR_RAW_IOC_GET says where the next records are, they are
/// copied from the mapping into the caller's buffer, and KEDR_RAW_IOC_PUT moves the stream's cursor past them, or
/// says the writer overtook the copy (then it is thrown away and the next GET starts at the oldest record still
/// intact). So the caller's buffer only ever holds whole records, as with read(2). Otherwise the <c>raw</c> file,
/// the same stream, is read with read(2): when there is no <c>ring</c> (a kedr_sample without the mapping, the tests'
/// stand-in folder), when opening it is refused with EPERM or EACCES (debugfs under lockdown refuses every file with
/// mmap or ioctls), when it answers the first ioctl with ENOTTY (a regular file), and always when <c>map</c> is false.
/// </summary>
internal sealed unsafe partial class RawStream : IDisposable
{
    private const int OpenReadOnly = 0, OpenNonBlock = 0x800, OpenCloseOnExec = 0x80000;
    private const int EPERM = 1, EAGAIN = 11, EINTR = 4, EACCES = 13, ENOTTY = 25;
    private const int ProtRead = 1, MapShared = 1;
    private int _fd;
    private byte* _map;
    private bool _ownsMap;
    /// <summary>The mapped path's ioctl(2): 0, or the errno. A test's stand-in (<see cref="ForTest"/>) or the file's.</summary>
    private IoctlCall _ioctl;
    /// <summary>A failure after records were already given: reported by the next <see cref="Read"/>.</summary>
    private IOException? _pending;
    private nint _mapSize;
    private int _recordSize;
    private uint _nrRecords;

    internal delegate int IoctlCall(uint cmd, byte* arg);

    private RawStream(int fd)
    {
        _fd = fd;
        _ioctl = FileIoctl;
    }

    private int FileIoctl(uint cmd, byte* arg) => Native.Ioctl(_fd, cmd, arg) >= 0 ? 0 : Marshal.GetLastPInvokeError();

    /// <summary>
    /// The mapped path over <paramref name="ring"/> (not unmapped by <see cref="Dispose"/>), GET and PUT answered by
    /// <paramref name="ioctl"/>: for RawStreamTests, which have no kedr_sample.
    /// </summary>
    internal static RawStream ForTest(byte* ring, int recordSize, uint nrRecords, IoctlCall ioctl) =>
        new(-1) { _map = ring, _recordSize = recordSize, _nrRecords = nrRecords, _ioctl = ioctl };

    /// <summary>Read through the mapping of the ring (else with read(2)).</summary>
    public bool Mapped => _map != null;

    /// <summary>
    /// Opens the stream whose read(2) file is <paramref name="rawPath"/> (<c>per_cpu/cpuN/raw</c>): through the
    /// mapping of <c>ring</c> next to it if <paramref name="map"/> is true and it can, else <paramref name="rawPath"/>.
    /// </summary>
    public static RawStream Open(string rawPath, bool map = true)
    {
        if (map)
        {
            var ring = OpenMapped(Path.Combine(Path.GetDirectoryName(rawPath) ?? ".", "ring"));
            if (ring != null) return ring;
        }
        int fd = Native.Open(rawPath, OpenReadOnly | OpenNonBlock | OpenCloseOnExec);
        if (fd < 0) throw new IOException($"cannot open {rawPath}: {Marshal.GetLastPInvokeErrorMessage()}");
        return new RawStream(fd);
    }

    /// <summary>The ring file <paramref name="path"/> opened and mapped; null if it is missing, refused or has no mapping.</summary>
    private static RawStream? OpenMapped(string path)
    {
        if (!File.Exists(path)) return null;
        int fd = Native.Open(path, OpenReadOnly | OpenNonBlock | OpenCloseOnExec);
        if (fd < 0)
        {
            int err = Marshal.GetLastPInvokeError();
            if (OpenFallsBackToRead(err)) return null;
            throw new IOException($"cannot open {path}: {Marshal.GetPInvokeErrorMessage(err)}");
        }
        var s = new RawStream(fd);
        try
        {
            s.Map();
        }
        catch
        {
            s.Dispose();
            throw;
        }
        if (s.Mapped) return s;
        s.Dispose();
        return null;
    }

    /// <summary>
    /// Whether an error of open(2) of the ring file means "read the raw file instead": EPERM (debugfs under lockdown
    /// refuses a file with mmap or ioctls) and EACCES. Any other error is a failure.
    /// </summary>
    internal static bool OpenFallsBackToRead(int errno) => errno is EPERM or EACCES;

    /// <summary>
    /// Whether an error of KEDR_RAW_IOC_INFO, the first ioctl, means "no mapping here, use read(2)": only ENOTTY,
    /// what a file without these ioctls answers. Any other error is a failure of a file that has them.
    /// </summary>
    internal static bool FallsBackToRead(int errno) => errno == ENOTTY;

    private void Map()
    {
        byte* info = stackalloc byte[RawLayout.Info.Size];
        new Span<byte>(info, RawLayout.Info.Size).Clear();
        if (Native.Ioctl(_fd, RawLayout.IocInfo, info) < 0)
        {
            int err = Marshal.GetLastPInvokeError();
            if (FallsBackToRead(err)) return;
            throw new IOException($"KEDR_RAW_IOC_INFO: {Marshal.GetPInvokeErrorMessage(err)}");
        }
        int recordSize = (int)Unsafe.ReadUnaligned<uint>(info + RawLayout.Info.RecordSize);
        uint nrRecords = Unsafe.ReadUnaligned<uint>(info + RawLayout.Info.NrRecords);
        ulong mapSize = Unsafe.ReadUnaligned<ulong>(info + RawLayout.Info.MapSize);
        if (recordSize < Kedr.Output.TraceLayout.Record.Size || nrRecords == 0 || mapSize > (ulong)nint.MaxValue
            || mapSize < (ulong)nrRecords * (ulong)recordSize)
            throw new IOException($"KEDR_RAW_IOC_INFO: a ring of {nrRecords} records of {recordSize} bytes in {mapSize} bytes?");
        void* map = Native.Mmap(null, (nint)mapSize, ProtRead, MapShared, _fd, 0);
        if (map == (void*)-1)
            throw new IOException($"cannot map the ring ({mapSize} bytes): {Marshal.GetLastPInvokeErrorMessage()}");
        _map = (byte*)map;
        _ownsMap = true;
        (_mapSize, _recordSize, _nrRecords) = ((nint)mapSize, recordSize, nrRecords);
    }

    /// <summary>
    /// Bytes read into <paramref name="buffer"/> (whole records); 0 at the end of the stream; -1 if nothing now. A
    /// failure after some records of a call were read (through the mapping: a GET or PUT refused, e.g. EINVAL when
    /// another opener of the CPU's stream moved its cursor) gives those records, and is thrown by the next call.
    /// </summary>
    public int Read(byte[] buffer)
    {
        if (_pending is { } e)
        {
            _pending = null;
            throw e;
        }
        return Mapped ? ReadMapped(buffer) : ReadFile(buffer);
    }

    private int ReadFile(byte[] buffer)
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

    /// <summary>As many records as fit and are there now: GET, copy, PUT, until the buffer is full or nothing is left.</summary>
    private int ReadMapped(byte[] buffer)
    {
        int capacity = buffer.Length / _recordSize * _recordSize, filled = 0;
        if (capacity == 0) throw new ArgumentException("a buffer smaller than one record", nameof(buffer));
        byte* span = stackalloc byte[RawLayout.Span.Size];
        fixed (byte* dst = buffer)
        {
            while (filled < capacity)
            {
                uint want = (uint)((capacity - filled) / _recordSize);
                new Span<byte>(span, RawLayout.Span.Size).Clear();
                Unsafe.WriteUnaligned(span + RawLayout.Span.Count, want);
                if (!Ioctl(RawLayout.IocGet, span, "KEDR_RAW_IOC_GET", filled))
                    return filled > 0 ? filled : -1;
                uint count = Unsafe.ReadUnaligned<uint>(span + RawLayout.Span.Count);
                uint index = Unsafe.ReadUnaligned<uint>(span + RawLayout.Span.Index);
                if (count == 0) return filled;  // the end: the next call says 0 again
                if (count > want || index >= _nrRecords || count > _nrRecords - index)
                    throw new IOException($"KEDR_RAW_IOC_GET: {count} records at slot {index} of {_nrRecords}, {want} asked for");
                CopyRecords(_map + (nint)index * _recordSize, dst + filled, (nint)count * _recordSize);
                // PUT: the GET's pos and count, flags 0 (cleared: GET leaves its flags 0).
                if (!Ioctl(RawLayout.IocPut, span, "KEDR_RAW_IOC_PUT", filled))
                    return filled > 0 ? filled : -1;  // refused after records were given: they stay, the error comes next
                if ((Unsafe.ReadUnaligned<uint>(span + RawLayout.Span.Flags) & RawLayout.Torn) != 0)
                    continue;  // overtaken while copying: thrown away, the next GET gives the oldest intact records
                filled += (int)count * _recordSize;
            }
        }
        return filled;
    }

    /// <summary>
    /// ioctl(2) on <paramref name="arg"/>, again on EINTR; false on EAGAIN (GET: nothing now). Any other error is
    /// thrown, or, with <paramref name="filled"/> bytes already read in this call, kept for the next call (false).
    /// </summary>
    private bool Ioctl(uint cmd, byte* arg, string name, int filled)
    {
        for (;;)
        {
            int err = _ioctl(cmd, arg);
            if (err == 0) return true;
            if (err == EINTR) continue;
            if (err == EAGAIN) return false;
            var e = new IOException($"{name}: {Marshal.GetPInvokeErrorMessage(err)}");
            if (filled == 0) throw e;
            _pending = e;
            return false;
        }
    }

    /// <summary>
    /// <paramref name="bytes"/> (whole 48-byte records: a multiple of 16) in 16-byte vector moves. Not Span.CopyTo:
    /// on x64 .NET hands blocks over 2 KiB to the C library's memmove, and glibc's copies large blocks with `rep movsb`
    /// on CPUs with ERMS (QEMU's -cpu max among them), which QEMU's TCG runs, and icount counts, byte by byte.
    /// </summary>
    internal static void CopyRecords(byte* src, byte* dst, nint bytes)
    {
        nint i = 0;
        for (; i + 64 <= bytes; i += 64)
        {
            var a = Vector128.Load(src + i);
            var b = Vector128.Load(src + i + 16);
            var c = Vector128.Load(src + i + 32);
            var d = Vector128.Load(src + i + 48);
            a.Store(dst + i);
            b.Store(dst + i + 16);
            c.Store(dst + i + 32);
            d.Store(dst + i + 48);
        }
        for (; i + 16 <= bytes; i += 16)
            Vector128.Load(src + i).Store(dst + i);
        for (; i < bytes; i++)
            dst[i] = src[i];
    }

    public void Dispose()
    {
        if (_map != null && _ownsMap) Native.Munmap(_map, _mapSize);
        _map = null;
        if (_fd >= 0) Native.Close(_fd);
        _fd = -1;
    }

    private static unsafe partial class Native
    {
        [LibraryImport("libc.so.6", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        public static partial int Open(string path, int flags);

        [LibraryImport("libc.so.6", EntryPoint = "read", SetLastError = true)]
        public static partial nint Read(int fd, byte* buffer, nint count);

        [LibraryImport("libc.so.6", EntryPoint = "ioctl", SetLastError = true)]
        public static partial int Ioctl(int fd, nuint request, void* arg);

        [LibraryImport("libc.so.6", EntryPoint = "mmap", SetLastError = true)]
        public static partial void* Mmap(void* addr, nint length, int prot, int flags, int fd, nint offset);

        [LibraryImport("libc.so.6", EntryPoint = "munmap")]
        public static partial int Munmap(void* addr, nint length);

        [LibraryImport("libc.so.6", EntryPoint = "close")]
        public static partial int Close(int fd);
    }
}
