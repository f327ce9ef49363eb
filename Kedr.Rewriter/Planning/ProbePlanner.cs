using System.Globalization;
using Kedr.Core.Diagnostics;
using Kedr.Rewriter.Catalog;

namespace Kedr.Rewriter.Planning;

/// <summary>A probe asked for (<c>--probe FUNC+OFF</c>); its id is its index in the list given.</summary>
internal readonly record struct ProbeRequest(FunctionInfo Function, int Offset);

/// <summary>
/// Probes at chosen instructions: each <c>FUNCTION+OFFSET</c> is checked against the function's planned
/// instructions (a copied function, an instruction start of it), and the instruction gets a probe call
/// before it; probes at one instruction share that call. Without probes the plans are left as they are.
/// </summary>
internal static class ProbePlanner
{
    /// <summary>
    /// Where the probes go, in the order asked for; null with an error naming the first bad one. The last step
    /// of planning (<see cref="ModulePlanner"/>): the functions left out are known.
    /// </summary>
    public static ProbeRequest[]? TryApply(FunctionCatalog catalog, FunctionPlan.Draft[] plans, string?[] leftOut,
        IReadOnlyList<string> specs, out KedrDiagnostic? error)
    {
        error = null;
        var requests = new ProbeRequest[specs.Count];
        for (int i = 0; i < specs.Count; i++)
        {
            if (!TryResolve(catalog, plans, leftOut, specs[i], out requests[i], out error)) return null;
        }
        // Mark each place once, then move the later instructions of its copy by the call's size.
        foreach (var r in requests.Distinct())
        {
            var plan = plans[r.Function.Id];
            int index = plan.IndexOf(r.Function.Start + r.Offset);
            var all = plan.Instructions;
            all[index].Probe = true;
            all[index].Size += Encoders.X86Encoding.EventCallSize;
            for (int k = index + 1; k < all.Length; k++) all[k].OffsetInCopy += Encoders.X86Encoding.EventCallSize;
            plan.BodySize += Encoders.X86Encoding.EventCallSize;
        }
        return requests;
    }

    /// <summary>One <c>FUNCTION+OFFSET</c>: a copied function and an instruction start of its copy.</summary>
    private static bool TryResolve(FunctionCatalog catalog, FunctionPlan.Draft[] plans, string?[] leftOut, string spec,
        out ProbeRequest request, out KedrDiagnostic? error)
    {
        request = default;
        error = null;
        int plus = spec.LastIndexOf('+');
        string name = plus > 0 ? spec[..plus] : "", number = plus > 0 ? spec[(plus + 1)..] : "";
        bool hex = number.StartsWith("0x", StringComparison.OrdinalIgnoreCase);
        if (name.Length == 0 || !int.TryParse(hex ? number[2..] : number, hex ? NumberStyles.AllowHexSpecifier : NumberStyles.None,
                CultureInfo.InvariantCulture, out int offset))
        {
            error = new(DiagnosticCodes.RewriterProbeSyntax, $"--probe '{spec}': expected FUNCTION+OFFSET, e.g. cfake_write+0x16");
            return false;
        }
        var f = catalog.Functions.FirstOrDefault(x => x.Name == name);
        if (f is null)
        {
            error = new(DiagnosticCodes.RewriterProbeFunction, $"--probe '{spec}': the module has no function '{name}' (of at least {FunctionCatalog.MinimumSize} bytes)");
            return false;
        }
        if (leftOut[f.Id] is { } why)
        {
            error = new(DiagnosticCodes.RewriterProbeFunction, $"--probe '{spec}': function '{name}' is left out of instrumentation ({why}): it has no copy to probe");
            return false;
        }
        if (offset >= f.Size)
        {
            error = new(DiagnosticCodes.RewriterProbeOffset, $"--probe '{spec}': offset 0x{offset:x} is past the end of '{name}' (0x{f.Size:x} bytes)");
            return false;
        }
        var plan = plans[f.Id].Plan;
        int index = plan.IndexOf(f.Start + offset);
        var instructions = plan.Instructions;
        if (index < 0 || instructions[index].Kind is EmitKind.Absorbed or EmitKind.Drop)
        {
            // The nearest instruction starts of the copy on either side.
            int before = -1, after = -1;
            foreach (ref readonly var p in instructions)
            {
                if (p.Kind is EmitKind.Absorbed or EmitKind.Drop) continue;
                int at = (int)(p.Offset - f.Start);
                if (at < offset) before = at;
                else if (at > offset) { after = at; break; }
            }
            string What(int at) => at < 0 ? "none" : $"{name}+0x{at:x}";
            string kind = index < 0 ? "not the start of an instruction" : "inside a site the kernel patches (no instruction of its own in the copy)";
            error = new(DiagnosticCodes.RewriterProbeOffset, $"--probe '{spec}': offset 0x{offset:x} is {kind}; the nearest instructions start at {What(before)} and {What(after)}");
            return false;
        }
        request = new ProbeRequest(f, offset);
        return true;
    }
}
