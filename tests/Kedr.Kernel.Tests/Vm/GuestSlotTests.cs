using System.Diagnostics;

namespace Kedr.Kernel.Tests.Vm;

/// <summary>
/// <c>kedr_vm_take_slot</c> (scripts/vm/lib.sh): at most KEDR_VM_SLOTS guests at a time on the
/// machine, the others waiting for a slot to free up.
/// </summary>
public sealed class GuestSlotTests : IDisposable
{
    private readonly string _runtimeDir = Directory.CreateTempSubdirectory("kedr-slot-test.").FullName;

    public void Dispose() => Directory.Delete(_runtimeDir, recursive: true);

    /// <summary>
    /// Starts bash that takes a slot, says which, then holds it until its stdin closes
    /// (<see cref="Release"/>): no test depends on how fast this machine runs a sleep.
    /// </summary>
    private Process TakeSlot(int slots)
    {
        var lib = Path.Combine(RepoPaths.ScriptsVm, "lib.sh");
        var psi = new ProcessStartInfo("bash")
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add($"source '{lib}' && kedr_vm_take_slot && cat >/dev/null");
        psi.Environment["KEDR_VM_SLOTS"] = slots.ToString(System.Globalization.CultureInfo.InvariantCulture);
        psi.Environment["XDG_RUNTIME_DIR"] = _runtimeDir;
        return Process.Start(psi)!;
    }

    private static void Release(Process p)
    {
        p.StandardInput.Close();
        Assert.True(p.WaitForExit(30_000), "a slot holder did not exit when released");
    }

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_guest_waits_while_every_slot_is_taken_and_gets_the_one_that_frees_up()
    {
        using var first = TakeSlot(1);
        Assert.Equal("1 of 1", await first.StandardOutput.ReadLineAsync());

        using var second = TakeSlot(1);
        var secondSays = second.StandardOutput.ReadLineAsync();
        // A second and a half without a slot: on a slow machine it only proves less.
        var early = await Task.WhenAny(secondSays, Task.Delay(TimeSpan.FromSeconds(1.5)));
        Assert.False(early == secondSays, "the second guest got the only slot while the first held it");
        Release(first);
        Assert.Equal("1 of 1", await secondSays.WaitAsync(Patience));
        Release(second);
    }

    [Fact]
    public async Task Guests_take_different_slots_while_there_are_free_ones()
    {
        using var first = TakeSlot(2);
        using var second = TakeSlot(2);
        var says = await Task.WhenAll(first.StandardOutput.ReadLineAsync(), second.StandardOutput.ReadLineAsync()).WaitAsync(Patience);
        Assert.Equal(["1 of 2", "2 of 2"], says.Order(StringComparer.Ordinal));
        Release(first);
        Release(second);
    }

    [Fact]
    public void A_bad_slot_count_is_an_error_naming_it()
    {
        using var p = TakeSlot(0);
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.Equal(2, p.ExitCode);
        Assert.Contains("KEDR_VM_SLOTS=0", stderr, StringComparison.Ordinal);
    }
}
