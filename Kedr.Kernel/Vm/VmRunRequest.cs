namespace Kedr.Kernel.Vm;

/// <summary>A file to put at <c>/lib/firmware/<see cref="Destination"/></c> in the guest.</summary>
/// <param name="Source">Path on the host.</param>
/// <param name="Destination">Relative to <c>/lib/firmware/</c>, e.g. <c>kedr/foo.kedr</c>.</param>
public sealed record VmFirmwareFile(string Source, string Destination);

/// <summary>
/// One run of the test guest: boot, run <see cref="ScriptPath"/>, bring back the results.
/// See <c>scripts/vm/run.sh</c> for what the guest looks like.
/// </summary>
public sealed record VmRunRequest
{
    /// <summary>
    /// The guest script, run with <c>sh -e</c> (busybox) from <c>/</c>; whatever it leaves in
    /// <c>/out/</c> comes back in <see cref="VmRunResult.Files"/>.
    /// </summary>
    public required string ScriptPath { get; init; }

    /// <summary>Modules of ours (.ko), put in the guest's <c>/lib/modules/kedr/</c>.</summary>
    public IReadOnlyList<string> ModuleFiles { get; init; } = [];

    /// <summary>Files for <c>request_firmware()</c> in the guest.</summary>
    public IReadOnlyList<VmFirmwareFile> FirmwareFiles { get; init; } = [];

    /// <summary>Guest-kernel modules by name (e.g. <c>vfat</c>), with their dependencies, for <c>modprobe</c>.</summary>
    public IReadOnlyList<string> GuestModules { get; init; } = [];

    /// <summary>Every module of the guest kernel (its whole tree, about 90 MB), for <c>modprobe</c> of any of them.</summary>
    public bool AllGuestModules { get; init; }

    /// <summary>The whole run, boot included; at least 10 s.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);

    public int Cpus { get; init; } = 2;

    public int MemoryMiB { get; init; } = 512;

    /// <summary>Appended to the kernel command line.</summary>
    public string? KernelCommandLine { get; init; }

    /// <summary>
    /// Where <c>run.sh</c> writes the results (kept afterwards); null: a temporary directory,
    /// removed once the results are read.
    /// </summary>
    public string? OutputDirectory { get; init; }

    /// <summary>The directory holding <c>run.sh</c>; null: <c>scripts/vm/</c> of the repository found above the application or the current directory.</summary>
    public string? ScriptsDirectory { get; init; }
}
