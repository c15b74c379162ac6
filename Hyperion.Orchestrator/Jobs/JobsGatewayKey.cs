using Hyperion.Contracts.ControlPlane;
using Hyperion.Orchestrator.Keys;
using Hyperion.Orchestrator.Security;

namespace Hyperion.Orchestrator.Jobs;

/// <summary>
/// The key this orchestrator process sends when it runs a pipeline job's lines through the gateway: an ordinary
/// <c>infer</c> key named <c>jobs-worker</c>, issued (and audited) the first time this process needs one, never
/// written anywhere, renewed a day at a time and revoked when the process stops. A process that dies leaves a key
/// that expires within a day. Its plan (<see cref="Plan"/>) is generous, as a job's pace is set by its own caps.
/// </summary>
internal sealed class JobsGatewayKey(KeyIssuer issuer, KeyRevoker revoker) : IHostedService
{
    public const string Name = "jobs-worker";

    private static readonly TimeSpan Lifetime = TimeSpan.FromDays(1);
    private static readonly RateLimitPlan Plan = new(RequestsPerSecond: 1000, Burst: 1000);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private CreatedApiKey? _key;

    public async Task<string> GetAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_key is null || _key.ExpiresAt < DateTimeOffset.UtcNow + TimeSpan.FromHours(1))
            {
                var previous = _key;
                _key = await issuer.IssueAsync(
                    new NewApiKey(Name, [Scopes.Infer], DateTimeOffset.UtcNow + Lifetime, Plan, ActorClaims.System("jobs")), cancellationToken);
                if (previous is not null)
                {
                    await revoker.RevokeAsync(previous.Id, ActorClaims.System("jobs"), cancellationToken);
                }
            }
            return _key.Key;
        }
        finally
        {
            _gate.Release();
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_key is { } key)
        {
            await revoker.RevokeAsync(key.Id, ActorClaims.System("jobs"), cancellationToken);
        }
    }
}
