using System.Reflection;

namespace Kedr.Core.Diagnostics;

/// <summary>
/// Every diagnostic code the tool reports, each for exactly one condition. Code refers to these
/// fields, never to a code's text (tests/Kedr.Core.Tests/Diagnostics/DiagnosticCatalogTests checks
/// the source, and that docs/diagnostics.md is this catalog).
/// Ranges: KEDR1xxx ELF, KEDR2xxx rewriter, KEDR3xxx blob, KEDR4xxx kernel and VM, KEDR5xxx trace
/// and report, KEDR6xxx command line, KEDR7xxx payload specs.
/// </summary>
public static class DiagnosticCodes
{
    // ELF (Kedr.Core/Elf, Kedr.Kernel/Modules)
    public static readonly DiagnosticCode ElfCannotRead = new("KEDR1000", "the module file cannot be read (missing, not a regular file, no permission, I/O error)");
    public static readonly DiagnosticCode ElfTooSmall = new("KEDR1001", "the file is smaller than an ELF header (64 bytes)");
    public static readonly DiagnosticCode ElfBadMagic = new("KEDR1002", "not an ELF file (bad magic)");
    public static readonly DiagnosticCode ElfNotElf64Le = new("KEDR1003", "not a 64-bit little-endian ELF file");
    public static readonly DiagnosticCode ElfNotRelocatableX8664 = new("KEDR1004", "not a relocatable x86-64 object (e_type, e_machine)");
    public static readonly DiagnosticCode ElfSectionHeadersOutside = new("KEDR1005", "the section header table (e_shoff, e_shnum) runs past the end of the file");
    public static readonly DiagnosticCode ElfSectionOutside = new("KEDR1006", "a section's contents (sh_offset, sh_size) run past the end of the file");
    public static readonly DiagnosticCode ElfSectionNameTableIndex = new("KEDR1007", "the section name table index (e_shstrndx) is out of range");
    public static readonly DiagnosticCode ElfNameOutside = new("KEDR1008", "a section or symbol name offset is outside its string table, or the name is unterminated");
    public static readonly DiagnosticCode ElfSymbolTableSize = new("KEDR1009", "the symbol table's sh_entsize is not 24 or its sh_size not a multiple of 24");
    public static readonly DiagnosticCode ElfRelNotRela = new("KEDR1010", "an SHT_REL section (x86-64 modules use SHT_RELA)");
    public static readonly DiagnosticCode ElfRelocationSymbol = new("KEDR1011", "a relocation's symbol index is past the symbol table");
    public static readonly DiagnosticCode ElfRelocationOutside = new("KEDR1012", "a relocation's place is outside the section it applies to");
    public static readonly DiagnosticCode ElfSymbolSection = new("KEDR1013", "a symbol's section index names no section");
    public static readonly DiagnosticCode ElfTwoSymbolTables = new("KEDR1014", "more than one symbol table");
    public static readonly DiagnosticCode ElfModInfoUnterminated = new("KEDR1015", "a .modinfo entry is not NUL-terminated");
    public static readonly DiagnosticCode ElfNoteOutside = new("KEDR1016", "an ELF note runs past the end of its section");
    public static readonly DiagnosticCode ElfNoSectionHeaders = new("KEDR1017", "no section headers (e_shnum is 0)");
    public static readonly DiagnosticCode ElfSectionHeaderSize = new("KEDR1018", "the section header size (e_shentsize) is not 64");
    public static readonly DiagnosticCode ElfSectionNameTableType = new("KEDR1019", "the section name table is not a string table");
    public static readonly DiagnosticCode ElfPatchSiteEntry = new("KEDR1020", "a run-time patch-site table entry (.altinstructions, __jump_table, ...) is malformed or points outside the code");
    public static readonly DiagnosticCode ElfSymbolStringTable = new("KEDR1021", "the symbol table's sh_link is not a string table");
    public static readonly DiagnosticCode ElfRelocationTableSize = new("KEDR1022", "a relocation section's sh_entsize is not 24 or its sh_size not a multiple of 24");
    public static readonly DiagnosticCode ElfRelocationTarget = new("KEDR1023", "a relocation section's sh_info names no section");
    public static readonly DiagnosticCode ElfExtendedSectionIndex = new("KEDR1024", "a symbol uses extended section indices (SHN_XINDEX)");
    public static readonly DiagnosticCode ElfNoSymbolTable = new("KEDR1025", "no symbol table (a stripped module)");
    public static readonly DiagnosticCode ElfModuleName = new("KEDR1026", "the .modinfo name is not a module name (empty, or holding '/')");

    // Rewriter (Kedr.Rewriter)
    public static readonly DiagnosticCode RewriterProbeSyntax = new("KEDR2001", "a --probe is not FUNCTION+OFFSET (offset in hex with 0x, or decimal)");
    public static readonly DiagnosticCode RewriterProbeFunction = new("KEDR2002", "a --probe names no function of the module, or one left out of instrumentation (no copy to put it in)");
    public static readonly DiagnosticCode RewriterProbeOffset = new("KEDR2003", "a --probe's offset is past the function's end or not the start of an instruction of its copy (the message names the nearest boundaries)");
    public static readonly DiagnosticCode RewriterInternalError = new("KEDR2900", "an internal error of the rewriter on this module (a bug: the message names the exception)");
    public static readonly DiagnosticCode RewriterBlobBreaksLoaderRule = new("KEDR2903", "an internal error: a blob about to be written breaks a rule the loader checks (a bug of the rewriter: the message names the rule's code and the record, the offset is where it would be written)");

    // Blob (Kedr.Core/Blob; docs/blob-format.md describes the fields)
    public static readonly DiagnosticCode BlobCannotRead = new("KEDR3000", "the blob file cannot be read");
    public static readonly DiagnosticCode BlobSizes = new("KEDR3001", "truncated or inconsistent sizes: smaller than a header, header_size, blob_size not the file's size, num_tables");
    public static readonly DiagnosticCode BlobBadMagic = new("KEDR3002", "not a KEDR blob (bad magic)");
    public static readonly DiagnosticCode BlobMajorVersion = new("KEDR3003", "another major version of the blob format");
    public static readonly DiagnosticCode BlobHeaderFlags = new("KEDR3004", "unknown header flags");
    public static readonly DiagnosticCode BlobTableBounds = new("KEDR3005", "a table's entsize too small, or its entries outside the blob");
    public static readonly DiagnosticCode BlobStringOrHeaderField = new("KEDR3006", "a string not in the strings table or unterminated; the build-id length or code alignment out of range; target_num_symtab 0");
    public static readonly DiagnosticCode BlobOutOfRange = new("KEDR3007", "an index, offset or range out of bounds (copies, masks, owners, symbols, fixups, sites, patch sites and slots, landing pads, tables)");
    public static readonly DiagnosticCode BlobUnknownValue = new("KEDR3008", "an unknown kind, type, target or flag; an exception entry's handler type or a bug entry's flags the kernel does not accept");
    public static readonly DiagnosticCode BlobChecksum = new("KEDR3009", "the checksum does not match (the blob is damaged), or a 1.3 blob has none");
    public static readonly DiagnosticCode BlobLandingPadsOverlap = new("KEDR3010", "two landing pads of a function overlap");
    public static readonly DiagnosticCode BlobCopyNotWalkable = new("KEDR3011", "the copy of a function with landing pads cannot be walked instruction by instruction as the loader does (bytes its length decoder does not know, a patch slot starting inside an instruction)");
    public static readonly DiagnosticCode BlobLandingPadNotAtInstruction = new("KEDR3012", "a landing pad's destination is not an instruction boundary of its function's copy");
    public static readonly DiagnosticCode BlobProbeCallNotAProbe = new("KEDR3013", "a probe helper call (a KEDR_HELPER_PROBE fixup) that is not push $site; call at the place of probe site, the first probe there");
    public static readonly DiagnosticCode BlobProbeNotCalled = new("KEDR3014", "a probe, the first at its place, whose push $site; call is not fixed up to the probe helper (no PC32 KEDR_HELPER_PROBE fixup at its call's field, or a later fixup over it)");

    // Kernel and VM (Kedr.Kernel/Vm, Kedr.Cli/Vm)
    public static readonly DiagnosticCode VmInputMissing = new("KEDR4901", "a file of the VM run (guest script, module, firmware) does not exist");
    public static readonly DiagnosticCode VmRunnerMissing = new("KEDR4902", "scripts/vm/run.sh not found");
    public static readonly DiagnosticCode VmRunFailed = new("KEDR4903", "run.sh failed (bad arguments or setup)");
    public static readonly DiagnosticCode VmResultMalformed = new("KEDR4904", "run.sh's run.txt is missing or malformed");
    public static readonly DiagnosticCode VmNoGuestKernel = new("KEDR4905", "no guest kernel (a *-cloud-amd64 release with headers) after scripts/vm/setup.sh");
    public static readonly DiagnosticCode VmNoCheckout = new("KEDR4906", "the kedr checkout (Kedr.sln with kmod/) is not above the tool or the current folder");
    public static readonly DiagnosticCode VmKmodBuildFailed = new("KEDR4907", "building kmod/ against the guest kernel failed");
    public static readonly DiagnosticCode VmNoLoader = new("KEDR4908", "the kmod/ build produced no kedr_sample.ko");
    public static readonly DiagnosticCode VmNoSuchTarget = new("KEDR4909", "the target module is not given with --ko, not built from kmod/ and not a module of the guest kernel");
    public static readonly DiagnosticCode VmRequestSetting = new("KEDR4910", "a setting of the VM run out of range (timeout, vCPUs, memory, a module or firmware name)");
    public static readonly DiagnosticCode VmTimedOut = new("KEDR4911", "run.sh did not finish in time and was killed");
    public static readonly DiagnosticCode VmGuestKedr = new("KEDR4912", "the guest's kedr (the NativeAOT build, scripts/vm/guest-kedr.sh) could not be staged");
    public static readonly DiagnosticCode VmRecordNoStreams = new("KEDR4920", "kedr record: no kedr_sample per-CPU streams (kedr_sample not loaded, debugfs not mounted, or an older kedr_sample)");
    public static readonly DiagnosticCode VmRecordReadFailed = new("KEDR4921", "kedr record: reading a per-CPU stream, its header or stats failed");

    // Trace and report (Kedr.Output)
    public static readonly DiagnosticCode TraceCannotRead = new("KEDR5000", "the trace file cannot be read");
    public static readonly DiagnosticCode TraceTruncatedHeader = new("KEDR5001", "the trace is shorter than its header");
    public static readonly DiagnosticCode TraceBadMagic = new("KEDR5002", "not a KEDR trace (bad magic)");
    public static readonly DiagnosticCode TraceOldVersion = new("KEDR5003", "a trace version this reader does not know (older than the first)");
    public static readonly DiagnosticCode TraceHeaderSize = new("KEDR5004", "header_size smaller than the version-1 header");
    public static readonly DiagnosticCode TraceRecordSize = new("KEDR5005", "record_size smaller than the version-1 record");
    public static readonly DiagnosticCode TraceTargetName = new("KEDR5006", "warning: the target name is not NUL-terminated");
    public static readonly DiagnosticCode TraceTruncatedRecord = new("KEDR5007", "warning: bytes after the last whole record (a truncated record), ignored");
    public static readonly DiagnosticCode TraceUnknownKind = new("KEDR5008", "warning: records with an unknown event kind, skipped");
    public static readonly DiagnosticCode TraceSequenceBackwards = new("KEDR5009", "warning: records whose per-CPU sequence number repeats or goes backwards");
    public static readonly DiagnosticCode TraceNewerVersion = new("KEDR5010", "warning: a trace version newer than this reader's; the known fields are read");
    public static readonly DiagnosticCode TraceRecordFileCpus = new("KEDR5020", "warning: a kedr record file whose per-CPU counts do not fit in its header_size; the counts are ignored");
    public static readonly DiagnosticCode TraceRecordFileFunctions = new("KEDR5021", "warning: a kedr record file whose per-function drops (after the records) are damaged; they are ignored");
    public static readonly DiagnosticCode ReportModuleMismatch = new("KEDR5101", "warning: the trace's target name is not the --ko module's name");
    public static readonly DiagnosticCode ReportEntryNotFunctionStart = new("KEDR5102", "warning: function entry addresses that are not the start of a function of the --ko module");
    public static readonly DiagnosticCode ReportUnknownPc = new("KEDR5103", "warning: events at addresses in no function of the --ko module");
    public static readonly DiagnosticCode ReportNoDebugInfo = new("KEDR5110", "warning: no debug information for the module (not in the .ko, no separate debug file found); no source lines");
    public static readonly DiagnosticCode ReportDebugInfoUnreadable = new("KEDR5111", "warning: the module's debug information does not read; no source lines");

    // Command line (Kedr.Cli)
    public static readonly DiagnosticCode CliSyntax = new("KEDR6000", "the command line does not parse (no or an unknown command or option, a missing or malformed value)");
    public static readonly DiagnosticCode CliEmptyValue = new("KEDR6001", "an empty path or name");
    public static readonly DiagnosticCode CliFolderNotFile = new("KEDR6002", "a folder where a file is expected");
    public static readonly DiagnosticCode CliNoSuchFile = new("KEDR6003", "an input file that does not exist (one the tool only passes on, e.g. the guest script)");
    public static readonly DiagnosticCode CliCannotWrite = new("KEDR6004", "an output file or folder that cannot be written or created");
    public static readonly DiagnosticCode CliNoSuchFolder = new("KEDR6005", "a folder that does not exist, or a file where a folder is expected");
    public static readonly DiagnosticCode CliNoModules = new("KEDR6006", "no .ko files below the --all folder");
    public static readonly DiagnosticCode CliNumberOutOfRange = new("KEDR6007", "a number option out of its range");
    public static readonly DiagnosticCode CliArgumentCombination = new("KEDR6008", "arguments that do not go together, or neither of two alternatives given");
    public static readonly DiagnosticCode CliBatchFailed = new("KEDR6009", "instrument --all: some modules failed (each listed with its own diagnostic)");
    public static readonly DiagnosticCode CliBadPath = new("KEDR6010", "a path the system cannot use (a NUL character, too long)");
    public static readonly DiagnosticCode CliBadName = new("KEDR6011", "a module name with white space, a control character or '/'");
    public static readonly DiagnosticCode CliCannotList = new("KEDR6012", "the --all folder's files cannot be listed (no permission, a path below it too long)");

    // Payload specs (Kedr.Kernel/Payloads; docs/payloads.md describes the format)
    public static readonly DiagnosticCode PayloadSpecCannotRead = new("KEDR7000", "the payload spec cannot be read");
    public static readonly DiagnosticCode PayloadSpecNotJson = new("KEDR7001", "the payload spec is not JSON (the place of the syntax error is named)");
    public static readonly DiagnosticCode PayloadSpecMissingField = new("KEDR7002", "a required field of the spec is missing (name, functions, a function's name, returns, params)");
    public static readonly DiagnosticCode PayloadSpecWrongType = new("KEDR7003", "a field of the spec has the wrong JSON type, or is empty");
    public static readonly DiagnosticCode PayloadSpecUnknownField = new("KEDR7004", "a field the spec format does not have (a typo), or one given twice");
    public static readonly DiagnosticCode PayloadSpecBadName = new("KEDR7005", "a payload name that is not a module name, a function or hook that is not a C identifier, a bad include path or description");
    public static readonly DiagnosticCode PayloadSpecBadPrototype = new("KEDR7006", "a return or parameter type that is not a C type of words and '*', a parameter without a name, a duplicate or reserved parameter name, a '...' not last or after more than 5 named parameters");
    public static readonly DiagnosticCode PayloadSpecBadRecord = new("KEDR7007", "a recorded value that names no parameter, has no usable field type, or a format that is not one printk integer conversion fitting its type");
    public static readonly DiagnosticCode PayloadSpecBadMode = new("KEDR7008", "a mode or behaviour that is unknown or does not fit the function (replace without code, a behaviour outside replace, a missing value or fault_check, a variadic function outside mode pre)");
    public static readonly DiagnosticCode PayloadSpecDuplicateFunction = new("KEDR7009", "a function listed twice in one spec");
    public static readonly DiagnosticCode PayloadSpecBadSource = new("KEDR7010", "an extra source of the spec that is not a .c/.h file of the spec's folder, is missing, listed twice or named like a generated file");
    public static readonly DiagnosticCode PayloadCannotWrite = new("KEDR7011", "the generated payload files cannot be written to the output folder");

    /// <summary>Every code, in code order.</summary>
    public static IReadOnlyList<DiagnosticCode> All { get; } = typeof(DiagnosticCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.FieldType == typeof(DiagnosticCode))
        .Select(f => (DiagnosticCode)f.GetValue(null)!)
        .OrderBy(c => c.Code, StringComparer.Ordinal)
        .ToList();
}
