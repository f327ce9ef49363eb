namespace Kedr.Kernel.Vm;

/// <summary>What a guest run produced.</summary>
public sealed record VmRunResult
{
    /// <summary>
    /// The guest completed (sent all its results), did not time out, and its kernel log shows no
    /// problem (<see cref="DmesgHealth"/>). Says nothing about the script's exit status.
    /// </summary>
    public bool Healthy => GuestCompleted && !TimedOut && Problems.Count == 0;

    /// <summary><see cref="Healthy"/> and the script exited with status 0.</summary>
    public bool Succeeded => Healthy && ScriptExitCode == 0;

    /// <summary>The lines of <see cref="Dmesg"/> (or of <see cref="Console"/> if the guest never sent its dmesg) that show a problem.</summary>
    public required IReadOnlyList<string> Problems { get; init; }

    /// <summary>The guest sent all its results before powering off (false after a panic or a timeout).</summary>
    public required bool GuestCompleted { get; init; }

    /// <summary>The script's exit status; null if it did not finish (timeout, panic).</summary>
    public required int? ScriptExitCode { get; init; }

    public required bool TimedOut { get; init; }

    /// <summary>The guest's kernel log at the end of the script; empty if it never sent it.</summary>
    public required string Dmesg { get; init; }

    /// <summary>The guest's serial console: kernel messages, <c>/init</c>'s notes, the script's output.</summary>
    public required string Console { get; init; }

    /// <summary>The script's stdout and stderr.</summary>
    public required string ScriptOutput { get; init; }

    /// <summary>The files the script left in the guest's <c>/out/</c>, by path relative to it (with '/').</summary>
    public required IReadOnlyDictionary<string, byte[]> Files { get; init; }

    /// <summary>Release of the guest kernel, e.g. <c>6.1.0-56-cloud-amd64</c>.</summary>
    public required string KernelRelease { get; init; }

    /// <summary>Wall-clock time of the whole run (initramfs, boot, script, results).</summary>
    public required TimeSpan Elapsed { get; init; }

    /// <summary>Where the results were written, if they were kept (<see cref="VmRunRequest.OutputDirectory"/>).</summary>
    public string? OutputDirectory { get; init; }
}
