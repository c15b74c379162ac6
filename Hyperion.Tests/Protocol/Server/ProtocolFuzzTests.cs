using System.Net;
using System.Text;

namespace Hyperion.Tests.Protocol.Server;

/// <summary>Random, truncated and mutated bodies at the real server: each gets a 4xx, never a 5xx, and the server stays ready.</summary>
[Collection(StandaloneServerCollection.Name)]
public sealed class ProtocolFuzzTests(StandaloneServer server)
{
    private const int Seed = 20261123;
    private const int BodiesPerKind = 60;

    private static readonly (string Path, string Body)[] ValidRequests =
    [
        ("/v2/models/identity_fp32/infer", """{"id":"f","inputs":[{"name":"INPUT0","datatype":"FP32","shape":[2,4],"data":[[1.5,2,3,4],[5,6,7,-8e3]]}],"outputs":[{"name":"OUTPUT0","parameters":{"binary_data":true}}]}"""),
        ("/v2/models/simple/infer", """{"inputs":[{"name":"INPUT0","datatype":"INT32","shape":[1,16],"data":[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]},{"name":"INPUT1","datatype":"INT32","shape":[1,16],"data":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]}]}"""),
        ("/v2/models/identity_bytes/infer", """{"inputs":[{"name":"INPUT0","datatype":"BYTES","shape":[1,4],"data":["a","bc","","\u00e9"]}],"parameters":{"binary_data_output":true}}"""),
        ("/v1/models/mlp_small:predict", """{"instances":[[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]]}"""),
    ];

    [Fact]
    public async Task Truncated_bodies_are_refused_with_4xx()
    {
        var random = new Random(Seed);
        for (var i = 0; i < BodiesPerKind; i++)
        {
            var (path, body) = ValidRequests[random.Next(ValidRequests.Length)];
            var bytes = Encoding.UTF8.GetBytes(body);
            var cut = bytes[..random.Next(bytes.Length - 1)];

            await AssertClientErrorAsync(path, cut, headerLength: null);
        }
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task Random_bodies_are_refused_with_4xx()
    {
        var random = new Random(Seed + 1);
        const string alphabet = "{}[]\",:0123456789.-eE truefalsnul\\u";
        for (var i = 0; i < BodiesPerKind; i++)
        {
            var (path, _) = ValidRequests[random.Next(ValidRequests.Length)];
            var bytes = new byte[random.Next(0, 300)];
            if (i % 2 == 0)
            {
                random.NextBytes(bytes);
            }
            else
            {
                for (var j = 0; j < bytes.Length; j++)
                {
                    bytes[j] = (byte)alphabet[random.Next(alphabet.Length)];
                }
            }
            int? headerLength = i % 5 == 0 ? random.Next(-2, bytes.Length + 3) : null;

            await AssertClientErrorAsync(path, bytes, headerLength);
        }
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task Mutated_bodies_never_fail_the_server()
    {
        var random = new Random(Seed + 2);
        const string tokens = "{}[]\",:-.e0 x";
        for (var i = 0; i < BodiesPerKind; i++)
        {
            var (path, body) = ValidRequests[random.Next(ValidRequests.Length)];
            var bytes = Encoding.UTF8.GetBytes(body).ToList();
            for (var edits = random.Next(1, 4); edits > 0 && bytes.Count > 0; edits--)
            {
                var at = random.Next(bytes.Count);
                switch (random.Next(3))
                {
                    case 0:
                        bytes.RemoveAt(at);
                        break;
                    case 1:
                        bytes.Insert(at, (byte)tokens[random.Next(tokens.Length)]);
                        break;
                    default:
                        bytes[at] = (byte)tokens[random.Next(tokens.Length)];
                        break;
                }
            }

            // A mutation can leave a valid request (a digit for a digit), so 200 is allowed; a 5xx never is.
            using var content = new ByteArrayContent([.. bytes]);
            var response = await server.Http.PostAsync(path, content);
            Assert.True((int)response.StatusCode is 200 or (>= 400 and < 500),
                $"{path} answered {(int)response.StatusCode} to {Encoding.UTF8.GetString([.. bytes])}");
        }
        await AssertStillServingAsync();
    }

    private async Task AssertClientErrorAsync(string path, byte[] body, int? headerLength)
    {
        using var content = new ByteArrayContent(body);
        if (headerLength is { } length)
        {
            content.Headers.TryAddWithoutValidation("Inference-Header-Content-Length", length.ToString());
        }
        var response = await server.Http.PostAsync(path, content);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode is >= 400 and < 500, $"{path} answered {(int)response.StatusCode} {text}");
        Assert.Contains("\"error\"", text);
    }

    private async Task AssertStillServingAsync()
    {
        Assert.False(server.HasExited, server.Output);
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("/v2/health/ready")).StatusCode);
        foreach (var (path, body) in ValidRequests)
        {
            var response = await server.Http.PostAsync(path, new StringContent(body));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }
}
