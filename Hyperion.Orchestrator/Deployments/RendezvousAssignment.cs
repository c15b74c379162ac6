using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Hyperion.Orchestrator.Deployments;

/// <summary>
/// Which replicas of a pool hold a deployment limited to <c>replicas: n</c>: rendezvous (highest random weight)
/// hashing of (model, replica id). Every orchestrator picks the same replicas, a deployment's replicas spread
/// over the pool independently of other models, and a replica joining or leaving moves only the deployments
/// whose top n it enters or leaves.
/// </summary>
internal static class RendezvousAssignment
{
    public static IReadOnlyList<T> Choose<T>(string model, IReadOnlyList<T> candidates, Func<T, string> idOf, int? count)
    {
        if (count is not { } limit || limit >= candidates.Count)
        {
            return candidates;
        }
        return [.. candidates
            .Select(candidate => (Candidate: candidate, Id: idOf(candidate), Score: Score(model, idOf(candidate))))
            .OrderByDescending(scored => scored.Score)
            .ThenBy(scored => scored.Id, StringComparer.Ordinal)
            .Take(limit)
            .Select(scored => scored.Candidate)];
    }

    /// <summary>A stable 64-bit weight of the pair; SHA-256 because it is the same in every process and on every platform.</summary>
    public static ulong Score(string model, string replicaId)
    {
        var text = Encoding.UTF8.GetBytes($"{model}\n{replicaId}");
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(text, hash);
        return BinaryPrimitives.ReadUInt64BigEndian(hash);
    }
}
