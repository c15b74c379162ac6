using System.Runtime.CompilerServices;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Health;
using Yarp.ReverseProxy.Model;

namespace Hyperion.Gateway.Resilience;

/// <summary>
/// YARP passive health policy working as a circuit breaker per replica: <see cref="ResilienceOptions.BreakerFailureThreshold"/>
/// consecutive failures of the replica itself open it: it could not be reached, the connection broke, it did not
/// answer within the upstream time-out, or it answered 502, or 503 without <c>Retry-After</c> (it cannot serve:
/// restarting, the model not loaded on it). The replica is then marked unhealthy and gets no traffic for the
/// cluster's reactivation period (<see cref="ResilienceOptions.BreakerCooldownSeconds"/>). Then YARP lets traffic
/// through again (half-open): the first failure re-opens it at once, the first success closes it. An overloaded
/// model's answers (503 with <c>Retry-After</c> for a full queue, 504 for a batching time-out) come from a working
/// replica: they do not count, or one overloaded model would take the replica away from every other model.
/// </summary>
internal sealed class CircuitBreakerPolicy(IDestinationHealthUpdater healthUpdater, IOptions<GatewayOptions> options, GatewayMetrics metrics) : IPassiveHealthCheckPolicy
{
    public const string Name = "CircuitBreaker";

    private readonly int _threshold = options.Value.Resilience.BreakerFailureThreshold;
    private readonly ConditionalWeakTable<DestinationState, Circuit> _circuits = [];

    string IPassiveHealthCheckPolicy.Name => Name;

    public void RequestProxied(HttpContext context, ClusterState cluster, DestinationState destination)
    {
        var response = context.Response;
        var failed = context.Features.Get<IForwarderErrorFeature>() is { Error: not (ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled or ForwarderError.RequestBodyClient) }
            || IsReplicaFailure(response.StatusCode, response.Headers.ContainsKey(HeaderNames.RetryAfter));
        Record(cluster, destination, failed);
    }

    /// <summary>An answer that says the replica itself cannot serve (not that one model is overloaded).</summary>
    public static bool IsReplicaFailure(int status, bool retryAfter) =>
        status == StatusCodes.Status502BadGateway || (status == StatusCodes.Status503ServiceUnavailable && !retryAfter);

    /// <summary>
    /// One call's outcome for the replica's circuit: the proxy's calls, and the calls the gateway makes itself
    /// (pipeline steps), so that a failing replica is taken out for both.
    /// </summary>
    public void Record(ClusterState cluster, DestinationState destination, bool failed)
    {
        var circuit = _circuits.GetValue(destination, static _ => new Circuit());
        var cooldown = cluster.Model.Config.HealthCheck?.Passive?.ReactivationPeriod ?? TimeSpan.FromSeconds(10);
        if (!failed)
        {
            if (circuit.Succeeded())
            {
                metrics.CircuitTransition(opened: false);
            }
            return;
        }
        if (circuit.Failed(_threshold))
        {
            metrics.CircuitTransition(opened: true);
            healthUpdater.SetPassive(cluster, destination, DestinationHealth.Unhealthy, cooldown);
        }
    }

    private sealed class Circuit
    {
        private int _consecutiveFailures;
        private int _opened; // 1 after opening, until a success: the next failure re-opens at once (half-open)

        /// <summary>True when this success closed a circuit that had opened.</summary>
        public bool Succeeded()
        {
            Volatile.Write(ref _consecutiveFailures, 0);
            return Interlocked.Exchange(ref _opened, 0) == 1;
        }

        /// <summary>True when this failure opens the circuit.</summary>
        public bool Failed(int threshold)
        {
            var failures = Interlocked.Increment(ref _consecutiveFailures);
            if (Volatile.Read(ref _opened) == 1 || failures >= threshold)
            {
                Volatile.Write(ref _consecutiveFailures, 0);
                Interlocked.Exchange(ref _opened, 1);
                return true;
            }
            return false;
        }
    }
}
