using Hyperion.Orchestrator.Quality;

namespace Hyperion.Tests.Quality;

/// <summary>The statistics drift is judged by, against hand computations.</summary>
public sealed class DriftMathTests
{
    private static readonly double[] DigitEdges = [0, 1.6, 3.2, 4.8, 6.4, 8.0, 9.6, 11.2, 12.8, 14.4, 16];

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1.59, 0)]
    [InlineData(1.6, 1)]
    [InlineData(12.8, 8)]
    [InlineData(14.4, 9)]
    [InlineData(15.99, 9)]
    [InlineData(16, 9)] // numpy's last bin is closed on the right
    [InlineData(-3, 0)] // below the range: the first bin
    [InlineData(40, 9)] // above the range: the last bin
    public void Values_are_binned_as_numpy_histogram_bins_them_and_outliers_count_in_the_end_bins(double value, int bin) =>
        Assert.Equal(bin, DriftMath.Bin(DigitEdges, value));

    [Fact]
    public void Psi_is_the_sum_of_share_differences_times_their_log_ratio()
    {
        // e = (0.5, 0.5), a = (0.25, 0.75): -0.25 ln 0.5 + 0.25 ln 1.5
        var expected = (-0.25 * Math.Log(0.5)) + (0.25 * Math.Log(1.5));
        Assert.Equal(expected, DriftMath.Psi([50, 50], [25, 75])!.Value, 12);
        Assert.Equal(0.274653, DriftMath.Psi([50, 50], [25, 75])!.Value, 6);
        Assert.Equal(0, DriftMath.Psi([13, 0, 7], [26, 0, 14])!.Value, 12);
    }

    [Fact]
    public void An_empty_bin_counts_as_a_share_of_one_in_ten_thousand_so_psi_stays_finite()
    {
        // e = (1, 0.0001), a = (0.9, 0.1)
        var expected = ((0.9 - 1) * Math.Log(0.9 / 1)) + ((0.1 - 1e-4) * Math.Log(0.1 / 1e-4));
        Assert.Equal(expected, DriftMath.Psi([100, 0], [90, 10])!.Value, 12);
        Assert.Equal(0.700621, DriftMath.Psi([100, 0], [90, 10])!.Value, 6);
        Assert.Null(DriftMath.Psi([100, 0], [0, 0]));
    }

    [Fact]
    public void Chi_squared_compares_counts_with_the_expected_shares_and_its_p_value_is_the_upper_tail()
    {
        // E = (50, 50): (25 - 50)² / 50 + (75 - 50)² / 50 = 25, one degree of freedom: erfc(√12.5).
        var (statistic, p) = DriftMath.ChiSquared([50, 50], [25, 75])!.Value;
        Assert.Equal(25, statistic, 10);
        Assert.Equal(5.733031e-7, p, 12);

        // Three equal bins, 60 observations: E = 20 each, χ² = (100 + 0 + 100) / 20 = 10; with two degrees of freedom p = e^-5.
        var (three, pThree) = DriftMath.ChiSquared([1, 1, 1], [10, 20, 30])!.Value;
        Assert.Equal(10, three, 10);
        Assert.Equal(Math.Exp(-5), pThree, 12);
    }

    [Theory]
    [InlineData(3.841459, 1)]
    [InlineData(4, 10)] // the series branch
    [InlineData(30, 10)] // the continued fraction branch
    [InlineData(10, 2)]
    [InlineData(200, 64)]
    public void The_chi_squared_tail_matches_the_closed_form_for_even_degrees_and_the_5_percent_point_for_one(double x, int degrees)
    {
        double expected;
        if (degrees == 1)
        {
            expected = 0.05;
        }
        else
        {
            // For even k: P(X ≥ x) = e^(-x/2) Σ_{j < k/2} (x/2)^j / j!
            var half = x / 2;
            double term = 1, sum = 1;
            for (var j = 1; j < degrees / 2; j++)
            {
                term *= half / j;
                sum += term;
            }
            expected = Math.Exp(-half) * sum;
        }
        Assert.Equal(expected, DriftMath.ChiSquaredSurvival(x, degrees), 7);
    }

    [Fact]
    public void Ks_is_the_largest_gap_between_the_binned_cumulative_shares()
    {
        Assert.Equal(0.25, DriftMath.KolmogorovSmirnov([50, 50], [25, 75])!.Value, 12);
        // CDFs (0.2, 0.5, 1) and (0.6, 0.7, 1): gaps 0.4, 0.2, 0.
        Assert.Equal(0.4, DriftMath.KolmogorovSmirnov([2, 3, 5], [6, 1, 3])!.Value, 12);
        Assert.Null(DriftMath.KolmogorovSmirnov([1, 1], [0, 0]));
    }
}
