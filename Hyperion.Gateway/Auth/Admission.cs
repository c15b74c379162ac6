namespace Hyperion.Gateway.Auth;

/// <summary>
/// <see cref="AuthorizationStage"/>'s result: the request may go on, made by <see cref="Caller"/>, or by no one
/// when the call needs no credential (<c>/api/v1</c>, which the orchestrator authenticates; metadata with
/// <see cref="AuthOptions.AllowAnonymousMetadata"/>).
/// </summary>
internal sealed class Admission
{
    public static Admission WithoutCredential { get; } = new(null);

    /// <summary>Use <see cref="CallerIdentity.Admission"/>: one per caller, not per request.</summary>
    internal Admission(CallerIdentity? caller) => Caller = caller;

    public CallerIdentity? Caller { get; }
}
