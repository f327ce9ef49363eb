using System.Buffers.Binary;
using Iced.Intel;
using Kedr.Core.Blob;
using Kedr.Core.Elf;
using Xunit.Abstractions;

namespace Kedr.Rewriter.Tests.Validation;

/// <summary>
/// The validator on known modules: their blobs pass, and each kind of corruption of a real
/// blob — one thing at a time — is reported where it was made.
/// </summary>
public sealed class TranslationValidatorTests(ITestOutputHelper output)
{
    private const string Fat = "fs/fat/fat.ko";
    /// <summary>Jump labels (fat.ko has none).</summary>
    private const string Fuse = "fs/fuse/fuse.ko";
    /// <summary>Live-bytes slots, a static_cpu_has jump slot, exception-table and bug entries.</summary>
    private const string DmMod = "drivers/md/dm-mod.ko";
    /// <summary>Landing pads (asm jump tables).</summary>
    private const string Crc32c = "arch/x86/crypto/crc32c-intel.ko";

    private sealed class Subject(string module)
    {
        private readonly Lazy<ElfFile> _elf = new(() => ElfFile.Read(KernelCorpus.Module(module)));
        private readonly Lazy<byte[]> _blob = new(() => BlobWriter.Write(ModuleRewriter.Rewrite(ElfFile.Read(KernelCorpus.Module(module))).Blob));
        public ElfFile Elf => _elf.Value;

        /// <summary>A fresh, mutable copy of the module's blob as the loader would read it.</summary>
        public KedrBlob FreshBlob()
        {
            Assert.True(BlobReader.TryRead(_blob.Value, module + ".kedr", out var blob, out var error), error?.ToString());
            return blob!;
        }

        public ValidationResult Validate(KedrBlob blob) => TranslationValidator.ValidateSerialized(Elf, BlobWriter.WriteUnverified(blob)); // corrupted on purpose: the validator must see it
    }

    private static readonly Subject FatSubject = new(Fat);
    private static readonly Subject FuseSubject = new(Fuse);
    private static readonly Subject DmSubject = new(DmMod);
    private static readonly Subject CrcSubject = new(Crc32c);
    private static ElfFile FatElf => FatSubject.Elf;
    private static KedrBlob FreshBlob() => FatSubject.FreshBlob();
    private static ValidationResult Validate(KedrBlob blob) => FatSubject.Validate(blob);

    private static string Describe(ValidationResult r, int max = 20) =>
        r.Discrepancies.Count == 0 ? "no discrepancies" : string.Join("\n", r.Discrepancies.Take(max).Select(d => d.ToString()));

    private static void AssertReported(ValidationResult r, Func<Discrepancy, bool> where, string what)
    {
        Assert.False(r.Ok, $"{what}: not reported");
        Assert.True(r.Discrepancies.Any(where), $"{what}: reported, but not where it was made:\n{Describe(r)}");
    }

    [Theory]
    [InlineData(Fat)]
    [InlineData("fs/xfs/xfs.ko")]
    [InlineData("drivers/net/virtio_net.ko")]
    public void KnownModulePasses(string module)
    {
        var elf = ElfFile.Read(KernelCorpus.Module(module));
        var r = TranslationValidator.RewriteAndValidate(elf);
        output.WriteLine(r.Stats.ToString());
        Assert.True(r.Ok, Describe(r));
        Assert.True(r.Stats.Functions > 50, $"only {r.Stats.Functions} functions copied");
        Assert.True(r.Stats.Branches > 1000 && r.Stats.Events > r.Stats.Functions && r.Stats.RipRelative > 0
            && r.Stats.Fixups > 1000 && r.Stats.MemoryEvents > 0 && r.Stats.DroppedFentry > 0, r.Stats.ToString());
    }

    /// <summary>
    /// kvm-intel.ko has two local functions vmx_get_exit_qual (vmx.c and nested.c), each with its own
    /// vmx_get_exit_qual.cold. Each part belongs to the one it branches with; tying both to the first
    /// makes the second's jumps to and from its own cold part look like tail calls (spurious exit events,
    /// and events of the second part reported for the wrong function).
    /// </summary>
    [Fact]
    public void ColdPartsOfSameNamedLocalFunctionsBelongToTheirOwnParent()
    {
        var elf = ElfFile.Read(KernelCorpus.Module("arch/x86/kvm/kvm-intel.ko"));
        var r = TranslationValidator.RewriteAndValidate(elf);
        var mine = r.Discrepancies.Where(d => d.Function.StartsWith("vmx_get_exit_qual", StringComparison.Ordinal)).ToList();
        Assert.True(mine.Count == 0, string.Join("\n", mine));
    }

    [Fact]
    public void UntouchedBlobsPass()
    {
        foreach (var subject in new[] { FatSubject, FuseSubject, DmSubject, CrcSubject })
        {
            var r = subject.Validate(subject.FreshBlob());
            Assert.True(r.Ok, Describe(r));
        }
    }

    /// <summary>Every decoded relative branch of the copies whose rel32 is not under a fixup, with the field's offset.</summary>
    private static List<(long At, int Length)> InImageBranches(KedrBlob blob)
    {
        var fixed_ = blob.Fixups.Select(x => (long)x.Offset).ToHashSet();
        var list = new List<(long, int)>();
        foreach (var f in blob.Functions)
        {
            var d = Decoder.Create(64, new ByteArrayCodeReader(blob.Code, (int)f.CopyOffset, (int)f.CopySize), f.CopyOffset);
            while (d.IP < f.CopyOffset + f.CopySize)
            {
                d.Decode(out var ins);
                if (ins.Op0Kind == OpKind.NearBranch64 && ins.Length is 5 or 6 && ins.Code != Code.Xbegin_rel32
                    && !fixed_.Contains((long)ins.IP + ins.Length - 4))
                    list.Add(((long)ins.IP, ins.Length));
            }
        }
        return list;
    }

    [Fact]
    public void CorruptedRel32InTheImageIsReported()
    {
        var all = InImageBranches(FreshBlob());
        // A call to an import's stub has a calls-table entry (1.4), which BlobReader holds to the call: moved, the
        // blob does not read back. The validator sees the others.
        var stubCalls = FreshBlob().Calls.Select(c => (long)c.ReturnOffset).ToHashSet();
        var branches = all.Where(b => !stubCalls.Contains(b.At + b.Length)).ToList();
        Assert.True(branches.Count > 100);
        var (callAt, callLen) = all.First(b => stubCalls.Contains(b.At + b.Length));
        var moved = FreshBlob();
        var callField = moved.Code.AsSpan((int)(callAt + callLen - 4), 4);
        BinaryPrimitives.WriteInt32LittleEndian(callField, BinaryPrimitives.ReadInt32LittleEndian(callField) + 1);
        Assert.Contains(Validate(moved).Discrepancies, d => d.Message.Contains("KEDR3007: call ", StringComparison.Ordinal));
        // A call, a jmp and a jcc; then a spread of the rest.
        var picks = new[] { 0xe8, 0xe9, 0x0f }.Select(op => branches.First(b => FreshBlob().Code[b.At] == op))
            .Concat(Enumerable.Range(0, 8).Select(i => branches[i * branches.Count / 8])).Distinct().ToList();
        foreach (var (at, len) in picks)
        {
            var blob = FreshBlob();
            var field = blob.Code.AsSpan((int)(at + len - 4), 4);
            BinaryPrimitives.WriteInt32LittleEndian(field, BinaryPrimitives.ReadInt32LittleEndian(field) + 1);
            AssertReported(Validate(blob), d => d.CopyOffset == at, $"rel32 of the branch at image+0x{at:x} moved by one");
        }
    }

    /// <summary>One fixup of each (type, target) kind, and of each role: branch, data relocation, RIP-relative, LEA, helper.</summary>
    private static List<int> FixupSample(KedrBlob blob)
    {
        var picks = new List<int>();
        foreach (var g in Enumerable.Range(0, blob.Fixups.Count).GroupBy(i => (blob.Fixups[i].Type, blob.Fixups[i].Target)))
            picks.AddRange(g.Take(1).Concat(g.Skip(g.Count() / 2).Take(1)));
        foreach (byte before in new byte[] { 0xe8, 0xe9, 0x05, 0x0d, 0x15, 0x1d })
        {
            int i = blob.Fixups.FindIndex(x => x.Offset > 0 && blob.Code[x.Offset - 1] == before);
            if (i >= 0) picks.Add(i);
        }
        return picks.Distinct().ToList();
    }

    private static bool Near(Discrepancy d, uint field) => d.CopyOffset >= 0 && d.CopyOffset <= field && field < d.CopyOffset + 32;

    [Fact]
    public void CorruptedFixupAddendIsReported()
    {
        var picks = FixupSample(FreshBlob());
        Assert.True(picks.Count >= 6, $"only {picks.Count} fixups sampled");
        foreach (int i in picks)
        {
            var blob = FreshBlob();
            var x = blob.Fixups[i];
            blob.Fixups[i] = x with { Addend = x.Addend + 1 };
            AssertReported(Validate(blob), d => Near(d, x.Offset), $"addend of fixup {i} ({x.Type} {x.Target} #{x.Index}) at image+0x{x.Offset:x} +1");
        }
    }

    [Fact]
    public void CorruptedFixupSymbolIsReported()
    {
        var elf = FatElf;
        var picks = FixupSample(FreshBlob());
        foreach (int i in picks)
        {
            var blob = FreshBlob();
            var x = blob.Fixups[i];
            uint other;
            if (x.Target == BlobFixupTarget.Helper)
                other = x.Index == (uint)BlobHelper.FuncEvent ? (uint)BlobHelper.MemEvent : (uint)BlobHelper.FuncEvent;
            else
            {
                // Another symbol of the same kind (defined/undefined) at another place.
                var s = elf.Symbols[(int)x.Index];
                bool Elsewhere(ElfSymbol o) => o.Index > 0 && (s.IsUndefined
                    ? o.IsUndefined && o.Name != s.Name
                    : o.IsDefinedInSection && (o.SectionIndex != s.SectionIndex || o.Value != s.Value));
                other = (uint)elf.Symbols.First(Elsewhere).Index;
            }
            blob.Fixups[i] = x with { Index = other };
            AssertReported(Validate(blob), d => Near(d, x.Offset), $"symbol of fixup {i} ({x.Type} {x.Target} #{x.Index} -> #{other}) at image+0x{x.Offset:x}");
        }
    }

    [Fact]
    public void DroppedFixupIsReported()
    {
        foreach (int i in FixupSample(FreshBlob()))
        {
            var blob = FreshBlob();
            var x = blob.Fixups[i];
            blob.Fixups.RemoveAt(i);
            AssertReported(Validate(blob), d => Near(d, x.Offset), $"fixup {i} ({x.Type} {x.Target} #{x.Index}) at image+0x{x.Offset:x} removed");
        }
    }

    [Fact]
    public void CorruptedSiteIndexIsReported()
    {
        var blob0 = FreshBlob();
        // Entry events of two functions, an exit event and a memory event: push imm32 at known places.
        var pushes = new List<long> { blob0.Functions[0].CopyOffset, blob0.Functions[^1].CopyOffset };
        var helper = blob0.Fixups.Where(x => x.Target == BlobFixupTarget.Helper).ToList();
        pushes.Add(helper.First(x => x.Index == (uint)BlobHelper.FuncEvent && blob0.Sites[Site(blob0, x)].Kind == BlobEventKind.Exit).Offset - 6);
        pushes.Add(helper.First(x => x.Index == (uint)BlobHelper.MemEvent).Offset - 6);
        foreach (long push in pushes)
            foreach (int delta in new[] { 1, -1, 1 << 30 })
            {
                var blob = FreshBlob();
                Assert.Equal(0x68, blob.Code[push]);
                var field = blob.Code.AsSpan((int)push + 1, 4);
                int site = BinaryPrimitives.ReadInt32LittleEndian(field);
                BinaryPrimitives.WriteInt32LittleEndian(field, site + delta);
                AssertReported(Validate(blob), d => d.CopyOffset >= push - 32 && d.CopyOffset <= push,
                    $"site index at image+0x{push:x} changed from {site} to {site + delta}");
            }
    }

    private static int Site(KedrBlob blob, BlobFixup helperCall) =>
        BinaryPrimitives.ReadInt32LittleEndian(blob.Code.AsSpan((int)helperCall.Offset - 5, 4));

    [Fact]
    public void CorruptedSiteRecordIsReported()
    {
        var blob0 = FreshBlob();
        foreach (int i in new[] { 0, blob0.Sites.Count / 2, blob0.Sites.Count - 1 })
        {
            var s = blob0.Sites[i];
            var mutations = new List<BlobSite>
            {
                s with { Offset = s.Offset == 0 ? 1u : 0u },
                s with { Kind = s.Kind == BlobEventKind.Exit ? BlobEventKind.Entry : BlobEventKind.Exit },
                s with { Size = (ushort)(s.Size + 1) },
                s with { Function = (s.Function + 1) % (uint)blob0.Functions.Count },
            };
            foreach (var m in mutations)
            {
                var blob = FreshBlob();
                blob.Sites[i] = m;
                var r = Validate(blob);
                Assert.False(r.Ok, $"site {i} {s} changed to {m}: not reported");
            }
        }
    }

    [Fact]
    public void CorruptedDigestIsReported()
    {
        foreach (int fi in new[] { 0, 7, FreshBlob().Functions.Count - 1 })
        {
            var blob = FreshBlob();
            var f = blob.Functions[fi];
            blob.Functions[fi] = f with { Digest = f.Digest ^ 0x100 };
            AssertReported(Validate(blob), d => d.Function == f.Name && d.Message.Contains("digest"), $"digest of {f.Name} flipped");
        }
    }

    [Fact]
    public void CorruptedMaskIsReported()
    {
        var blob0 = FreshBlob();
        int fi = blob0.Functions.FindIndex(f => f.MaskCount >= 2);
        var f0 = blob0.Functions[fi];
        int m = (int)f0.MaskFirst + 1;
        var mask = blob0.Masks[m];

        var shrunk = FreshBlob();
        shrunk.Masks[m] = mask with { Length = mask.Length - 1 };
        AssertReported(Validate(shrunk), d => d.Function == f0.Name, $"mask {m} of {f0.Name} one byte shorter");

        // Moved one byte later where that keeps the masks sorted and inside the function (the reader's rules).
        var blobM = FreshBlob();
        int mv = Enumerable.Range(0, blobM.Functions.Count).SelectMany(i => Enumerable.Range((int)blobM.Functions[i].MaskFirst, (int)blobM.Functions[i].MaskCount)
            .Select(k => (Function: i, Mask: k))).First(t =>
            {
                var f = blobM.Functions[t.Function];
                var mk = blobM.Masks[t.Mask];
                long next = t.Mask + 1 < f.MaskFirst + f.MaskCount ? blobM.Masks[t.Mask + 1].Offset : f.Size;
                return mk.Offset + mk.Length + 1 <= next;
            }).Mask;
        var movedMask = blobM.Masks[mv];
        blobM.Masks[mv] = movedMask with { Offset = movedMask.Offset + 1 };
        var owner = blobM.Functions.First(f => f.MaskFirst <= mv && mv < f.MaskFirst + f.MaskCount);
        AssertReported(Validate(blobM), d => d.Function == owner.Name, $"mask {mv} of {owner.Name} one byte later");

        // A wider mask with a digest that agrees: still a byte masked that the kernel never writes.
        var widened = FreshBlob();
        var f = widened.Functions[fi];
        int last = (int)(f.MaskFirst + f.MaskCount - 1);
        var lm = widened.Masks[last];
        if (lm.Offset + lm.Length < f.Size)
        {
            widened.Masks[last] = lm with { Length = lm.Length + 1 };
            var sym = FatElf.Symbols[(int)f.SymbolIndex];
            var bytes = FatElf.Sections[sym.SectionIndex].Data.Span.Slice((int)sym.Value, (int)f.Size);
            widened.Functions[fi] = f with { Digest = widened.DigestOf(widened.Functions[fi], bytes) };
            AssertReported(Validate(widened), d => d.Function == f0.Name && d.Message.Contains("masked"), $"mask {last} of {f0.Name} widened");
        }
    }

    [Fact]
    public void CorruptedFunctionRecordIsReported()
    {
        var blob0 = FreshBlob();
        int part = blob0.Functions.FindIndex(f => (f.Flags & BlobFunctionFlags.Part) != 0);
        var cases = new List<(string What, Action<KedrBlob> Mutate)>
        {
            ("copy offset moved by 16", b => b.Functions[3] = b.Functions[3] with { CopyOffset = b.Functions[3].CopyOffset + 16 }),
            ("copy size one byte short", b => b.Functions[3] = b.Functions[3] with { CopySize = b.Functions[3].CopySize - 1 }),
            ("owner changed", b => b.Functions[3] = b.Functions[3] with { Owner = 4 }),
            ("INIT flag set", b => b.Functions[3] = b.Functions[3] with { Flags = b.Functions[3].Flags ^ BlobFunctionFlags.Init }),
        };
        if (part >= 0)
            cases.Add(("PART flag cleared", b => b.Functions[part] = b.Functions[part] with { Flags = b.Functions[part].Flags & ~BlobFunctionFlags.Part }));
        foreach (var (what, mutate) in cases)
        {
            var blob = FreshBlob();
            mutate(blob);
            Assert.False(Validate(blob).Ok, $"{what}: not reported");
        }
    }

    [Fact]
    public void CorruptedPatchIsReported()
    {
        var blob0 = DmSubject.FreshBlob();
        Assert.Contains(blob0.Patches, p => p.Kind == BlobPatchKind.LiveBytes);
        Assert.Contains(blob0.Patches, p => p.Kind == BlobPatchKind.JumpLabel);
        foreach (var kind in new[] { BlobPatchKind.LiveBytes, BlobPatchKind.JumpLabel })
        {
            // A slot that a shifted original range still fits in (the last bytes of a function, e.g. a return site, would not).
            int i = blob0.Patches.FindIndex(p => p.Kind == kind && p.OriginalOffset + p.Length + 1 < blob0.Functions[(int)p.Function].Size);
            if (i < 0) continue;
            var p = blob0.Patches[i];
            var mutations = new List<BlobPatch> { p with { OriginalOffset = p.OriginalOffset + 1 } };
            // A jump label of another length than 2 or 5 is refused by the format checks (BlobReader, the
            // loader) before the validator sees it: BlobReaderValidationTests has those.
            if (kind == BlobPatchKind.LiveBytes)
                mutations.Add(p with { Length = (ushort)(p.Length + 1), SlotLength = (ushort)Math.Max(p.SlotLength, p.Length + 1) });
            if (kind == BlobPatchKind.JumpLabel || p.Length is 2 or 5)
                mutations.Add(p with { Kind = kind == BlobPatchKind.LiveBytes ? BlobPatchKind.JumpLabel : BlobPatchKind.LiveBytes, SlotLength = Math.Max(p.SlotLength, (ushort)5) });
            if (kind == BlobPatchKind.JumpLabel) mutations.Add(p with { TargetCopyOffset = p.TargetCopyOffset + 1 });
            foreach (var m in mutations)
            {
                var blob = DmSubject.FreshBlob();
                blob.Patches[i] = m;
                AssertReported(DmSubject.Validate(blob), d => d.CopyOffset == p.CopyOffset || d.OriginalOffset == p.OriginalOffset, $"patch {i} {p} changed to {m}");
            }
        }
    }

    /// <summary>pushf; cmpl $0,key(%rip); jg/jle +3; popf; jmp +6; popf; jmp target — found by its fixed bytes.</summary>
    private static List<long> JumpLabelTests(KedrBlob blob)
    {
        var list = new List<long>();
        var c = blob.Code;
        for (int i = 0; i + 19 <= c.Length; i++)
            if (c[i] == 0x9c && c[i + 1] == 0x83 && c[i + 2] == 0x3d && c[i + 7] == 0 && c[i + 8] is 0x7e or 0x7f && c[i + 9] == 3
                && c[i + 10] == 0x9d && c[i + 11] == 0xeb && c[i + 12] == 6 && c[i + 13] == 0x9d && c[i + 14] == 0xe9)
                list.Add(i);
        return list;
    }

    [Fact]
    public void CorruptedJumpLabelTestIsReported()
    {
        var tests = JumpLabelTests(FuseSubject.FreshBlob());
        Assert.True(tests.Count > 10, $"only {tests.Count} jump-label tests in {Fuse}");
        foreach (long at in new[] { tests[0], tests[tests.Count / 2], tests[^1] })
        {
            var cases = new List<(string What, Action<KedrBlob> Mutate)>
            {
                ("condition inverted", b => b.Code[at + 8] ^= 1),
                ("key moved by 8", b => { int x = b.Fixups.FindIndex(f => f.Offset == at + 3); b.Fixups[x] = b.Fixups[x] with { Addend = b.Fixups[x].Addend + 8 }; }),
                ("skip distance changed", b => b.Code[at + 12] = 5),
            };
            foreach (var (what, mutate) in cases)
            {
                var blob = FuseSubject.FreshBlob();
                mutate(blob);
                AssertReported(FuseSubject.Validate(blob), d => d.CopyOffset >= at && d.CopyOffset < at + 19, $"jump-label test at image+0x{at:x}: {what}");
            }
        }
    }

    [Fact]
    public void CorruptedExceptionAndBugEntriesAreReported()
    {
        var blob0 = DmSubject.FreshBlob();
        Assert.NotEmpty(blob0.ExTable);
        Assert.NotEmpty(blob0.Bugs);
        var e = blob0.ExTable[0];
        var b = blob0.Bugs[blob0.Bugs.Count / 2];
        var cases = new List<(string What, Action<KedrBlob> Mutate)>
        {
            ("exception insn moved", k => k.ExTable[0] = e with { InsnCopy = e.InsnCopy + 1 }),
            ("exception fixup moved", k => k.ExTable[0] = e with { FixupCopy = e.FixupCopy + 1 }),
            ("exception fixup to the original", k => k.ExTable[0] = e with { FixupCopy = 0xffffffffU, FixupSymbol = blob0.Functions[0].SymbolIndex }),
            ("exception data changed", k => k.ExTable[0] = e with { Data = e.Data ^ 1 }),
            ("exception entry dropped", k => k.ExTable.RemoveAt(0)),
            ("bug line changed", k => k.Bugs[blob0.Bugs.Count / 2] = b with { Line = (ushort)(b.Line + 1) }),
            ("bug moved", k => k.Bugs[blob0.Bugs.Count / 2] = b with { CopyOffset = b.CopyOffset + 2 }),
            ("bug dropped", k => k.Bugs.RemoveAt(blob0.Bugs.Count / 2)),
        };
        foreach (var (what, mutate) in cases)
        {
            var blob = DmSubject.FreshBlob();
            mutate(blob);
            Assert.False(DmSubject.Validate(blob).Ok, $"{what}: not reported");
        }
    }

    [Fact]
    public void CorruptedLandingPadIsReported()
    {
        var blob0 = CrcSubject.FreshBlob();
        int i = blob0.Patches.FindIndex(p => p.Kind == BlobPatchKind.Landing);
        Assert.True(i >= 0, $"no landing pad in {Crc32c}");
        var p = blob0.Patches[i];
        foreach (var m in new[] { p with { CopyOffset = p.CopyOffset + 1 }, p with { OriginalOffset = p.OriginalOffset + 1 }, p with { OriginalOffset = 2 } })
        {
            var blob = CrcSubject.FreshBlob();
            blob.Patches[i] = m;
            Assert.False(CrcSubject.Validate(blob).Ok, $"landing pad {p} changed to {m}: not reported");
        }
    }

    [Fact]
    public void CorruptedInstructionBytesAreReported()
    {
        var blob0 = FreshBlob();
        var f = blob0.Functions[5];
        var fixedBytes = blob0.Fixups.SelectMany(x => Enumerable.Range((int)x.Offset, x.Type == BlobFixupType.Abs64 ? 8 : 4)).ToHashSet();
        // The loader overwrites live-bytes and jump slots with what the kernel chose: their placeholder bytes carry nothing.
        fixedBytes.UnionWith(blob0.Patches.Where(x => x.Kind is BlobPatchKind.LiveBytes or BlobPatchKind.JumpLabel)
            .SelectMany(x => Enumerable.Range((int)x.CopyOffset, x.SlotLength)));
        // Every byte of one whole copy, one bit at a time: each change must be noticed, unless it only
        // re-encodes the same instruction (e.g. REX.B on a SIB without base).
        var missedAt = new List<string>();
        int flips = 0, equivalent = 0;
        var d0 = Decoder.Create(64, new ByteArrayCodeReader(blob0.Code, (int)f.CopyOffset, (int)f.CopySize), f.CopyOffset);
        while (d0.IP < f.CopyOffset + f.CopySize)
        {
            d0.Decode(out var before);
            for (long at = (long)before.IP; at < (long)before.IP + before.Length; at++)
            {
                if (fixedBytes.Contains((int)at)) continue;
                var blob = FreshBlob();
                blob.Code[at] ^= 0x01;
                var after = Decoder.Create(64, new ByteArrayCodeReader(blob.Code, (int)before.IP, 15), before.IP).Decode();
                if (after.Length == before.Length && after.ToString() == before.ToString()) { equivalent++; continue; }
                flips++;
                if (Validate(blob).Ok) missedAt.Add($"image+0x{at:x} ({before} -> {after})");
            }
        }
        output.WriteLine($"{flips} single-bit changes in {f.Name}'s copy, {equivalent} equivalent encodings skipped");
        Assert.True(flips > 100);
        Assert.True(missedAt.Count == 0, $"{missedAt.Count} single-bit changes in the copy of {f.Name} went unnoticed: {string.Join(", ", missedAt)}");
    }
}
