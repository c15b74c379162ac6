using System.Security.Cryptography;
using System.Text;
using StackExchange.Redis;

namespace Hyperion.Gateway.Statistics;

/// <summary>
/// A Lua script run by its SHA1 (EVALSHA: the script text crosses the wire once per Redis process, not per call).
/// After a Redis restart the script cache is empty: NOSCRIPT loads it again and the call is repeated.
/// </summary>
internal sealed class RedisScript(string script)
{
    private readonly byte[] _sha1 = SHA1.HashData(Encoding.UTF8.GetBytes(script));

    public string Text { get; } = script;

    public async Task<RedisResult> EvaluateAsync(IConnectionMultiplexer redis, RedisKey[] keys, RedisValue[] values)
    {
        var database = redis.GetDatabase();
        try
        {
            return await database.ScriptEvaluateAsync(_sha1, keys, values);
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
        {
            foreach (var endpoint in redis.GetEndPoints())
            {
                await redis.GetServer(endpoint).ScriptLoadAsync(Text);
            }
            return await database.ScriptEvaluateAsync(_sha1, keys, values);
        }
    }
}
