namespace Hyperion.Orchestrator.Quality;

/// <summary>
/// The statistics drift is judged by, as pure functions over bin counts (tested against hand computations):
/// binning as numpy's <c>histogram</c> bins (which wrote the baseline profiles), the population stability index,
/// Pearson's chi-squared goodness of fit with its p-value, and the Kolmogorov–Smirnov distance of the binned CDFs.
/// </summary>
internal static class DriftMath
{
    /// <summary>
    /// What an empty bin's share becomes before a logarithm or a division (as Evidently does): PSI and chi-squared are
    /// otherwise infinite as soon as one side has a bin the other lacks.
    /// </summary>
    public const double EmptyBinShare = 1e-4;

    /// <summary>
    /// The bin of <paramref name="value"/>: [edges[i], edges[i + 1]), the last bin closed on the right (numpy's rule).
    /// Values below the first edge count in the first bin and values above the last edge in the last one, so traffic
    /// outside the training range still counts, and shows as a shift of the end bins.
    /// </summary>
    public static int Bin(ReadOnlySpan<double> edges, double value)
    {
        var last = edges.Length - 2;
        if (value < edges[1])
        {
            return 0;
        }
        if (value >= edges[last])
        {
            return last;
        }
        // edges[lo] <= value < edges[hi]: the bin is lo.
        int lo = 1, hi = last;
        while (hi - lo > 1)
        {
            var mid = (lo + hi) >>> 1;
            if (value < edges[mid])
            {
                hi = mid;
            }
            else
            {
                lo = mid;
            }
        }
        return lo;
    }

    /// <summary>Each count's share of the total; empty bins are <see cref="EmptyBinShare"/>. Null when the total is 0.</summary>
    public static double[]? SmoothedShares(ReadOnlySpan<long> counts)
    {
        long total = 0;
        foreach (var count in counts)
        {
            total += count;
        }
        if (total == 0)
        {
            return null;
        }
        var shares = new double[counts.Length];
        for (var i = 0; i < shares.Length; i++)
        {
            shares[i] = counts[i] == 0 ? EmptyBinShare : (double)counts[i] / total;
        }
        return shares;
    }

    /// <summary>
    /// Population stability index Σ (aᵢ − eᵢ) · ln(aᵢ / eᵢ) over the bins' shares (<see cref="SmoothedShares"/>);
    /// null when either side has no count. Below 0.1 is usually read as stable, above 0.25 as a shift.
    /// </summary>
    public static double? Psi(ReadOnlySpan<long> expected, ReadOnlySpan<long> actual)
    {
        if (SmoothedShares(expected) is not { } e || SmoothedShares(actual) is not { } a)
        {
            return null;
        }
        var psi = 0.0;
        for (var i = 0; i < e.Length; i++)
        {
            psi += (a[i] - e[i]) * Math.Log(a[i] / e[i]);
        }
        return psi;
    }

    /// <summary>
    /// Pearson's chi-squared test of the actual counts against the expected distribution: Σ (Oᵢ − Eᵢ)² / Eᵢ with
    /// Eᵢ = n · eᵢ, eᵢ the smoothed expected shares renormalised to sum to 1, and k − 1 degrees of freedom. Null when
    /// either side is empty or there is a single bin.
    /// </summary>
    public static (double Statistic, double PValue)? ChiSquared(ReadOnlySpan<long> expected, ReadOnlySpan<long> actual)
    {
        if (expected.Length < 2 || SmoothedShares(expected) is not { } e)
        {
            return null;
        }
        long n = 0;
        foreach (var count in actual)
        {
            n += count;
        }
        if (n == 0)
        {
            return null;
        }
        var sum = e.Sum();
        var statistic = 0.0;
        for (var i = 0; i < e.Length; i++)
        {
            var expectedCount = n * e[i] / sum;
            var difference = actual[i] - expectedCount;
            statistic += difference * difference / expectedCount;
        }
        return (statistic, ChiSquaredSurvival(statistic, e.Length - 1));
    }

    /// <summary>The largest gap between the two cumulative distributions at the bin edges (raw shares, 0..1); null when either side is empty.</summary>
    public static double? KolmogorovSmirnov(ReadOnlySpan<long> expected, ReadOnlySpan<long> actual)
    {
        long expectedTotal = 0, actualTotal = 0;
        for (var i = 0; i < expected.Length; i++)
        {
            expectedTotal += expected[i];
            actualTotal += actual[i];
        }
        if (expectedTotal == 0 || actualTotal == 0)
        {
            return null;
        }
        double expectedCdf = 0, actualCdf = 0, distance = 0;
        for (var i = 0; i < expected.Length; i++)
        {
            expectedCdf += (double)expected[i] / expectedTotal;
            actualCdf += (double)actual[i] / actualTotal;
            distance = Math.Max(distance, Math.Abs(expectedCdf - actualCdf));
        }
        return distance;
    }

    /// <summary>P(X ≥ <paramref name="statistic"/>) for X chi-squared with <paramref name="degreesOfFreedom"/>: Q(k/2, x/2).</summary>
    public static double ChiSquaredSurvival(double statistic, int degreesOfFreedom) =>
        statistic <= 0 ? 1 : UpperRegularizedGamma(degreesOfFreedom / 2.0, statistic / 2);

    /// <summary>Q(a, x) = Γ(a, x) / Γ(a): a series below a + 1, Lentz's continued fraction above (Numerical Recipes 6.2).</summary>
    private static double UpperRegularizedGamma(double a, double x)
    {
        const int maxIterations = 500;
        const double epsilon = 1e-15;
        var logPrefix = -x + a * Math.Log(x) - LogGamma(a);
        if (x < a + 1)
        {
            double term = 1 / a, sum = term;
            for (var n = 1; n < maxIterations && Math.Abs(term) > Math.Abs(sum) * epsilon; n++)
            {
                term *= x / (a + n);
                sum += term;
            }
            return Math.Clamp(1 - sum * Math.Exp(logPrefix), 0, 1);
        }
        const double tiny = 1e-300;
        var b = x + 1 - a;
        var c = 1 / tiny;
        var d = 1 / b;
        var h = d;
        for (var i = 1; i < maxIterations; i++)
        {
            var an = -i * (i - a);
            b += 2;
            d = an * d + b;
            d = Math.Abs(d) < tiny ? tiny : d;
            c = b + an / c;
            c = Math.Abs(c) < tiny ? tiny : c;
            d = 1 / d;
            var delta = d * c;
            h *= delta;
            if (Math.Abs(delta - 1) < epsilon)
            {
                break;
            }
        }
        return Math.Clamp(Math.Exp(logPrefix) * h, 0, 1);
    }

    /// <summary>ln Γ(x) for x &gt; 0 (Lanczos, g = 7, nine coefficients: about 15 significant digits).</summary>
    private static double LogGamma(double x)
    {
        ReadOnlySpan<double> coefficients =
        [
            0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
            12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
        ];
        if (x < 0.5)
        {
            // Reflection: Γ(x) Γ(1 − x) = π / sin(πx).
            return Math.Log(Math.PI / Math.Abs(Math.Sin(Math.PI * x))) - LogGamma(1 - x);
        }
        x -= 1;
        var sum = coefficients[0];
        for (var i = 1; i < coefficients.Length; i++)
        {
            sum += coefficients[i] / (x + i);
        }
        var t = x + 7.5;
        return 0.5 * Math.Log(2 * Math.PI) + (x + 0.5) * Math.Log(t) - t + Math.Log(sum);
    }
}
