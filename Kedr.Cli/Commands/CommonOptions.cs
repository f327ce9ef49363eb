using System.CommandLine;

namespace Kedr.Cli.Commands;

internal static class CommonOptions
{
    public static Option<bool> Verbose() => new("--verbose", "-v") { Description = "Log more detail." };
}
