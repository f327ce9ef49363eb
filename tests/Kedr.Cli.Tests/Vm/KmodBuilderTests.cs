using Kedr.Cli.Vm;
using Microsoft.Extensions.Logging;

namespace Kedr.Cli.Tests.Vm;

/// <summary>
/// kmod/ is built once per process: every guest of a test run asked for kbuild's whole pass again
/// (about 16 CPU seconds each, under build-kmod.sh's lock) before <see cref="KmodBuilder"/> kept the result.
/// </summary>
public sealed class KmodBuilderTests
{
    [Fact]
    public async Task A_second_build_in_the_same_process_runs_no_build_and_gives_the_same_modules()
    {
        var first = await KmodBuilder.BuildAsync(new Messages(), default);
        var second = new Messages();
        var again = await KmodBuilder.BuildAsync(second, default);

        Assert.Empty(second.Lines);
        Assert.Equal(first.OrderBy(kv => kv.Key), again.OrderBy(kv => kv.Key));
        Assert.True(File.Exists(again["kedr_sample"]), again["kedr_sample"]);
    }

    [Fact]
    public async Task Each_caller_gets_its_own_table()
    {
        var mine = await KmodBuilder.BuildAsync(new Messages(), default);
        string sample = mine["kedr_sample"];
        mine.Remove("kedr_sample");
        mine["kedr_sample_target"] = "elsewhere";

        var theirs = await KmodBuilder.BuildAsync(new Messages(), default);
        Assert.Equal(sample, theirs["kedr_sample"]);
        Assert.NotEqual("elsewhere", theirs["kedr_sample_target"]);
    }

    private sealed class Messages : ILogger
    {
        public List<string> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add(formatter(state, exception));
    }
}
