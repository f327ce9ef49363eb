using Kedr.Cli.Tests.PatchSites;
using Kedr.Cli.Vm;

namespace Kedr.Cli.Tests.Recorder;

/// <summary>
/// One guest run for the recorder tests: kedr_sample waiting for kmod/kedr_rec_target (instrumented),
/// kmod/kedr_rec_probe (not instrumented) calling the target's functions and watching kedr_sample's
/// handlers with kprobes. Each scenario leaves its results in /out; <see cref="RecorderVmTests"/>
/// checks them, one fact per scenario.
/// </summary>
public sealed class RecorderRun : IAsyncLifetime
{
    public const string Target = "kedr_rec_target";

    // kedr_sample is loaded before this runs (PatchSiteRun), waiting for the target.
    private const string Script = Record.GuestKedr.Setup + """
        D=/sys/kernel/debug
        OUT=$D/kedr_sample/output
        P=$D/kedr_rec_probe
        # gone PID TENTHS: true once PID has exited, false if still running after TENTHS/10 s.
        gone() {
            n=$2
            while [ "$n" -gt 0 ] && kill -0 "$1" 2>/dev/null; do sleep 0.1; n=$((n - 1)); done
            ! kill -0 "$1" 2>/dev/null
        }
        # "recorded dropped" from kedr_sample's stats.
        totals() { sed -n 's/^all \([0-9]*\) \([0-9]*\) .*/\1 \2/p' $D/kedr_sample/stats; }
        probe() { insmod $K/kedr_rec_probe.ko "$@"; }

        # --- 1. a reader started before the target loads ---------------------------------
        cat $OUT > /out/early.txt &
        early=$!
        sleep 1
        kill -0 $early 2>/dev/null && echo running > /out/early-waiting.txt
        head -n 1 $D/kedr_sample/stats > /out/early-stats.txt
        chmod +x $K/nbread
        $K/nbread $OUT > /out/nb-before.txt 2> /out/nb-before-end.txt
        insmod $K/kedr_rec_target.ko
        grep '\[kedr_rec_target\]' /proc/kallsyms > /out/kallsyms.txt
        probe
        echo "work 10" > $P/ctl
        sleep 0.5
        kill -0 $early 2>/dev/null && echo running > /out/early-attached.txt
        rmmod kedr_rec_probe
        rmmod kedr_rec_target
        gone $early 100 && echo exited > /out/early-ended.txt

        # --- 2. a reader blocked while the target is attached: a signal ends it -----------
        insmod $K/kedr_rec_target.ko
        cat $OUT > /dev/null &
        blocked=$!
        sleep 0.5
        kill -0 $blocked 2>/dev/null && echo running > /out/signal-waiting.txt
        kill $blocked
        gone $blocked 30 && echo exited > /out/signal-ended.txt

        # --- 3. the read mutex is not held across copy_to_user ----------------------------
        mutex=$(grep ' kedr_read_mutex' /proc/kallsyms | cut -d' ' -f1)
        probe mode=mutex read_mutex=0x$mutex
        echo "work 50" > $P/ctl
        head -c 1000 $OUT > /out/head.txt
        cat $P/result > /out/mutex.txt
        rmmod kedr_rec_probe

        # --- 4. handlers called inside a STAC region run with AC clear ---------------------
        probe mode=ac
        echo uaccess > $P/ctl
        cat $P/result > /out/ac.txt
        rmmod kedr_rec_probe

        # --- 5. nested events are dropped, each counted --------------------------------
        probe mode=nest
        set -- $(totals)
        r0=$1 d0=$2
        echo "nest 7" > $P/ctl
        set -- $(totals)
        echo "$(($1 - r0)) $(($2 - d0))" > /out/nest.txt
        cat $P/result > /out/nest-probe.txt
        rmmod kedr_rec_probe
        rmmod kedr_rec_target
        cat $OUT > /dev/null
        rmmod kedr_sample

        # --- 6. a stream that stops reading does not make the others drop ---------------------
        insmod $K/kedr_sample.ko target_name=kedr_rec_target nr_records=256
        exec 3< $OUT
        cat $D/kedr_sample/trace > /out/stalled-trace.bin &
        tr=$!
        insmod $K/kedr_rec_target.ko
        probe
        # output has not read for longer than kedr_sample's stall limit (2 s): stalled.
        sleep 3
        i=0
        while [ $i -lt 20 ]; do echo "work 20" > $P/ctl; sleep 0.2; i=$((i + 1)); done
        rmmod kedr_rec_probe
        rmmod kedr_rec_target
        gone $tr 100 && echo exited > /out/stalled-trace-ended.txt
        cat $D/kedr_sample/stats > /out/stalled-stats.txt
        cat <&3 > /out/stalled-output.txt
        exec 3<&-
        rmmod kedr_sample

        # --- 7. rmmod -f with a blocked reader ----------------------------------------
        insmod $K/kedr_sample.ko target_name=kedr_rec_target
        cat $OUT > /dev/null &
        blocked=$!
        sleep 0.5
        kill -0 $blocked 2>/dev/null && echo running > /out/force-waiting.txt
        (rmmod -f kedr_sample; echo $? > /out/force-status.txt) &
        rm=$!
        gone $rm 100 && echo returned > /out/force-returned.txt
        gone $blocked 20 && echo exited > /out/force-reader-ended.txt
        [ -e $OUT ] || echo gone > /out/force-files-gone.txt

        # --- 8. rings larger than memory allows: refused, no OOM killer -------------------------
        if insmod $K/kedr_sample.ko target_name=kedr_rec_target nr_records=16777216 2>/out/huge-insmod.txt; then
            echo loaded > /out/huge.txt
            rmmod kedr_sample
        else
            echo refused > /out/huge.txt
        fi
        dmesg | grep 'kedr_sample: nr_records=16777216' > /out/huge-dmesg.txt || true

        # --- 9. the raw file's mapping: refusals, a torn copy, the end; rmmod -f while mapped ---
        # rawmap (Resources/rawmap.c) meets this script through files in $M. 64-record rings and no waiting
        # for the reader: once it has not read for kedr_sample's stall limit (2 s), the writer wraps the ring.
        M=/tmp/rawmap
        mkdir -p $M
        chmod +x $K/rawmap
        insmod $K/kedr_sample.ko target_name=kedr_rec_target nr_records=64 wait_ms=0
        insmod $K/kedr_rec_target.ko
        probe
        # raw is read(2) only: no ioctls (so lockdown leaves it alone); ring has them and the mapping.
        $K/rawmap $D/kedr_sample/per_cpu/cpu0/raw $M info > /out/rawmap-raw.txt 2>&1 || true
        $K/rawmap $D/kedr_sample/per_cpu/cpu0/ring $M torn > /out/rawmap-torn.txt 2>&1 &
        rawmap=$!
        while [ ! -e $M/opened ] && kill -0 $rawmap 2>/dev/null; do sleep 0.1; done
        # 60 events on CPU 0: fewer than the ring holds.
        taskset 1 sh -c "echo 'work 10' > $P/ctl"
        while [ ! -e $M/got ] && kill -0 $rawmap 2>/dev/null; do sleep 0.1; done
        sleep 2.5
        # 600 more: the ring wraps over the records rawmap was given and has not copied yet.
        taskset 1 sh -c "echo 'work 100' > $P/ctl"
        touch $M/go
        while [ ! -e $M/drain ] && kill -0 $rawmap 2>/dev/null; do sleep 0.1; done
        rmmod kedr_rec_probe
        rmmod kedr_rec_target
        gone $rawmap 100 && echo exited > /out/rawmap-torn-ended.txt
        sed -n 's/^0 \([0-9]*\) \([0-9]*\) .*/\1 \2/p' $D/kedr_sample/stats > /out/rawmap-cpu0.txt
        rmmod kedr_sample
        rm -f $M/*
        insmod $K/kedr_sample.ko target_name=kedr_rec_target
        $K/rawmap $D/kedr_sample/per_cpu/cpu0/ring $M hold > /out/rawmap-hold.txt 2>&1 &
        rawmap=$!
        while [ ! -e $M/mapped ] && kill -0 $rawmap 2>/dev/null; do sleep 0.1; done
        sleep 0.5
        (rmmod -f kedr_sample; echo $? > /out/hold-status.txt) &
        rm=$!
        while [ ! -e $M/closed ] && kill -0 $rawmap 2>/dev/null; do sleep 0.1; done
        sleep 1
        # The file is closed, its mapping is not: kedr_sample waits for it.
        kill -0 $rm 2>/dev/null && echo running > /out/hold-rmmod-waiting.txt
        touch $M/release
        gone $rm 100 && echo returned > /out/hold-rmmod-returned.txt
        gone $rawmap 20 && echo exited > /out/rawmap-hold-ended.txt

        # --- 10. under lockdown (last: it cannot be lifted) kedr record reads raw with read(2) ---
        # debugfs refuses to open, under lockdown, a file with mmap or ioctls (ring), not a read-only one
        # (raw). Unsigned modules cannot be loaded then: the target runs its work before.
        insmod $K/kedr_sample.ko target_name=kedr_rec_target
        insmod $K/kedr_rec_target.ko
        probe
        taskset 1 sh -c "echo 'work 10' > $P/ctl"
        mount | grep -q securityfs || mount -t securityfs none /sys/kernel/security
        echo integrity > /sys/kernel/security/lockdown
        cat /sys/kernel/security/lockdown > /out/lockdown.txt
        (exec 4< $D/kedr_sample/per_cpu/cpu0/ring) 2> /out/lockdown-ring.txt || true
        kedr record -o /tmp/locked.trace 2> /out/locked-record.txt &
        rec=$!
        sleep 1
        rmmod kedr_rec_probe
        rmmod kedr_rec_target
        gone $rec 300 && echo exited > /out/locked-record-ended.txt
        sed -n 's/^all \([0-9]*\) \([0-9]*\) .*/\1 \2/p' $D/kedr_sample/stats > /out/locked-stats.txt
        rmmod kedr_sample
        """;

    internal PatchSiteResult Result { get; private set; } = null!;

    private readonly string _work = Directory.CreateTempSubdirectory("kedr-rec.").FullName;

    public async Task InitializeAsync()
    {
        // nbread: reads a file opened with O_NONBLOCK (busybox cannot), from the pipeline tests' resources.
        var nbread = Path.Combine(_work, "nbread");
        await Gcc(nbread, Path.Combine(RepositoryPaths.Root, "tests", "Kedr.Kernel.Tests", "Pipeline", "Resources", "nbread.c"));
        // rawmap: the mapped reading of a raw file, step by step (kmod/kedr_raw.h).
        var rawmap = Path.Combine(_work, "rawmap");
        await Gcc(rawmap, Path.Combine(RepositoryPaths.Root, "tests", "Kedr.Cli.Tests", "Recorder", "Resources", "rawmap.c"),
            "-I", RepositoryPaths.Kmod);
        Result = await PatchSiteRun.RunAsync(new PatchSiteRequest(Target, Script)
        {
            ExtraModules = ["kedr_rec_probe"],
            ExtraFiles = [nbread, rawmap, .. Record.GuestKedr.Files],
            Timeout = TimeSpan.FromSeconds(300),
        });
    }

    private static async Task Gcc(string output, string source, params string[] flags)
    {
        using var gcc = System.Diagnostics.Process.Start("gcc", ["-static", "-O2", "-Wall", "-Werror", .. flags, "-o", output, source]);
        await gcc.WaitForExitAsync();
        if (gcc.ExitCode != 0) throw new InvalidOperationException($"gcc {source} failed ({gcc.ExitCode})");
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_work, recursive: true);
        return Task.CompletedTask;
    }
}
