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

    /// <summary>Starts bash that takes a slot, says which, then holds it for <paramref name="holdSeconds"/>.</summary>
    private Process TakeSlot(int slots, double holdSeconds)
    {
        var lib = Path.Combine(RepoPaths.ScriptsVm, "lib.sh");
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add($"source '{lib}' && kedr_vm_take_slot && sleep {holdSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
        psi.Environment["KEDR_VM_SLOTS"] = slots.ToString(System.Globalization.CultureInfo.InvariantCulture);
        psi.Environment["XDG_RUNTIME_DIR"] = _runtimeDir;
        return Process.Start(psi)!;
    }

    [Fact]
    public void A_guest_waits_while_every_slot_is_taken_and_gets_the_one_that_frees_up()
    {
        using var first = TakeSlot(1, 2);
        Assert.Equal("1 of 1", first.StandardOutput.ReadLine());

        var waited = Stopwatch.StartNew();
        using var second = TakeSlot(1, 0);
        Assert.Equal("1 of 1", second.StandardOutput.ReadLine());
        waited.Stop();
        first.WaitForExit();
        second.WaitForExit();
        Assert.True(waited.Elapsed > TimeSpan.FromSeconds(1), $"the second guest got the only slot after {waited.Elapsed} while the first held it");
    }

    [Fact]
    public void Guests_take_different_slots_while_there_are_free_ones()
    {
        using var first = TakeSlot(2, 2);
        using var second = TakeSlot(2, 2);
        var slots = new[] { first.StandardOutput.ReadLine(), second.StandardOutput.ReadLine() };
        first.WaitForExit();
        second.WaitForExit();
        Assert.Equal(["1 of 2", "2 of 2"], slots.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_bad_slot_count_is_an_error_naming_it()
    {
        using var p = TakeSlot(0, 0);
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.Equal(2, p.ExitCode);
        Assert.Contains("KEDR_VM_SLOTS=0", stderr, StringComparison.Ordinal);
    }
}
