using System.CommandLine;
using Kedr.Cli.Commands;

namespace Kedr.Cli;

public static class Program
{
    /// <summary>Exit status: 0 success, 1 the work ran but failed (e.g. an unhealthy guest), 2 bad input.</summary>
    public static int Main(string[] args)
    {
        var root = new RootCommand("KEDR: record what a Linux kernel module does, without rebuilding it.");
        root.Subcommands.Add(InstrumentCommand.Create());
        root.Subcommands.Add(InspectCommand.Create());
        root.Subcommands.Add(VmCommand.Create());
        root.Subcommands.Add(VmCommand.CreateDemo());
        root.Subcommands.Add(ReportCommand.Create());
        return root.Parse(args).Invoke();
    }
}
