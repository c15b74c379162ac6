namespace Hyperion.Orchestrator.Api;

/// <summary>
/// A body type with a converter of its own (it accepts more than one JSON shape): what it reads, as a user would
/// say it, for the 400 that <see cref="JsonBody"/> writes when a value has the wrong type.
/// </summary>
internal interface IDescribedJson
{
    static abstract string ExpectedJson { get; }
}
