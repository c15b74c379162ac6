using System.Collections;
using System.Runtime.CompilerServices;
using static TorchSharp.torch;

namespace Hyperion.TorchScript;

/// <summary>What <c>forward</c> returned, as the tensors the config's outputs name in result order.</summary>
public static class TorchScriptResults
{
    /// <summary>
    /// Fills <paramref name="tensors"/> with the result's tensors: a single tensor, or the items of a tuple or list
    /// of tensors. Throws when the result has another form or a different number of tensors; the caller owns
    /// (and disposes) every tensor placed, also when this throws.
    /// </summary>
    public static void Collect(object? result, Tensor?[] tensors)
    {
        switch (result)
        {
            case Tensor single:
                tensors[0] = single;
                Expect(1, tensors.Length);
                return;
            case ITuple tuple:
                Place(tuple.Length, i => tuple[i], tensors);
                return;
            case IList list:
                Place(list.Count, i => list[i], tensors);
                return;
            default:
                throw new TorchScriptException(
                    $"forward() returned {result?.GetType().Name ?? "nothing"}; a served model must return a tensor or a tuple or list of tensors");
        }
    }

    private static void Place(int count, Func<int, object?> item, Tensor?[] tensors)
    {
        // Take ownership of every tensor first, so none leaks when the shape of the result is wrong.
        var kept = 0;
        for (var i = 0; i < count; i++)
        {
            if (item(i) is Tensor tensor)
            {
                if (kept < tensors.Length)
                {
                    tensors[kept] = tensor;
                }
                else
                {
                    tensor.Dispose();
                }
                kept++;
            }
            else
            {
                throw new TorchScriptException(
                    $"forward() returned a tuple or list whose item {i} is {item(i)?.GetType().Name ?? "None"}; every item must be a tensor");
            }
        }
        Expect(count, tensors.Length);
    }

    private static void Expect(int returned, int configured)
    {
        if (returned != configured)
        {
            throw new TorchScriptException(
                $"forward() returned {returned} tensor{(returned == 1 ? "" : "s")}, but the config lists {configured} output{(configured == 1 ? "" : "s")}");
        }
    }
}
