namespace Kedr.Core.Blob;

/// <summary>
/// The tables of a blob, kept from one build to the next by a worker that builds many in turn and
/// is done with each before the next (writes it, then drops it): their capacity, grown to the
/// largest blob so far, is reused instead of allocated and zeroed again for every module.
/// <see cref="NewBlob"/> empties them, so the blob it returned before is retired: writing a retired
/// blob throws. Not for use by two threads at once.
/// </summary>
public sealed class BlobBuffers
{
    private readonly List<BlobFunction> _functions = [];
    private readonly List<BlobMask> _masks = [];
    private readonly List<BlobFixup> _fixups = [];
    private readonly List<BlobSite> _sites = [];
    private readonly List<BlobPatch> _patches = [];
    private readonly List<BlobExTableEntry> _exTable = [];
    private readonly List<BlobBug> _bugs = [];
    private readonly List<BlobOrc> _orc = [];
    private readonly List<BlobImport> _imports = [];
    private readonly List<BlobImportCall> _calls = [];
    private KedrBlob? _current;

    /// <summary>An empty blob for <paramref name="target"/> on these buffers; the previous one is retired.</summary>
    public KedrBlob NewBlob(BlobTarget target)
    {
        _current?.Retire();
        _functions.Clear();
        _masks.Clear();
        _fixups.Clear();
        _sites.Clear();
        _patches.Clear();
        _exTable.Clear();
        _bugs.Clear();
        _orc.Clear();
        _imports.Clear();
        _calls.Clear();
        _current = new KedrBlob
        {
            Target = target,
            Functions = _functions,
            Masks = _masks,
            Fixups = _fixups,
            Sites = _sites,
            Patches = _patches,
            ExTable = _exTable,
            Bugs = _bugs,
            Orc = _orc,
            Imports = _imports,
            Calls = _calls,
        };
        return _current;
    }
}
