namespace Hyperion.Inference.Backends;

/// <summary>
/// A version's model file opened by its backend, one execution session per configured instance, before the
/// config is completed: auto-complete reads <see cref="Signature"/>, then <see cref="CreateInstances"/> hands the
/// sessions to the batcher.
/// </summary>
internal interface IBackendModel : IDisposable
{
    /// <summary>The config's platform, by its canonical name.</summary>
    string Platform { get; }

    /// <summary>The inputs and outputs, batch dimension included.</summary>
    BackendSignature Signature { get; }

    /// <summary>
    /// True when the file declares no signature and <see cref="Signature"/> restates the config (TorchScript):
    /// auto-complete then has nothing to add, and a config without max_batch_size means 0.
    /// </summary>
    bool SignatureFromConfig { get; }

    /// <summary>
    /// Where the sessions run, when that may differ from what the config asks (an ONNX "gpu" group that fell back to
    /// CPU); null for backends that open every instance where its group asks or fail the load.
    /// </summary>
    ModelPlacement? Placement => null;

    /// <summary>Binds every session to the completed signature; the instances own the sessions from here on.</summary>
    IModelInstance[] CreateInstances(Repository.ModelSignature signature);
}
