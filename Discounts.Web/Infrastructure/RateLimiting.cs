using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Security.Claims;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace Discounts.Web.Infrastructure;

public sealed class RateLimitingOptions
{
    public const string Section = "RateLimiting";

    /// <summary>Sustained requests per second for each API key (a key may set its own); anonymous callers share one bucket per address.</summary>
    [Range(1, 1_000_000)]
    public int PermitsPerSecond { get; set; } = 200;

    /// <summary>How many requests a key may send at once above the sustained rate.</summary>
    [Range(1, 1_000_000)]
    public int Burst { get; set; } = 400;
}

/// <summary>
/// A token bucket per API key (by its hashed id, never the key), answering 429 ProblemDetails with Retry-After.
/// Health checks are never limited, so a busy key cannot make the node look dead.
/// </summary>
public static class RateLimitingSetup
{
    public const string PermitsPerSecondClaim = "discounts:permits-per-second";

    public static IServiceCollection AddDiscountsRateLimiting(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RateLimitingOptions>().Bind(configuration.GetSection(RateLimitingOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
            {
                if (context.Request.Path.StartsWithSegments("/health"))
                {
                    return RateLimitPartition.GetNoLimiter("health");
                }

                var options = context.RequestServices.GetRequiredService<IOptions<RateLimitingOptions>>().Value;
                var user = context.User;
                var rate = int.TryParse(user.FindFirstValue(PermitsPerSecondClaim), CultureInfo.InvariantCulture, out var own) ? own : options.PermitsPerSecond;
                var partition = user.Identity?.IsAuthenticated == true
                    ? $"{user.Identity.Name}:{rate}"
                    : $"anonymous:{context.Connection.RemoteIpAddress}";
                return RateLimitPartition.GetTokenBucketLimiter(partition, _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = Math.Max(rate, Math.Min(options.Burst, rate * 2)),
                    TokensPerPeriod = rate,
                    ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                    QueueLimit = 0,
                    AutoReplenishment = true,
                });
            });
            limiter.OnRejected = async (context, cancellationToken) =>
            {
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
                context.HttpContext.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                await context.HttpContext.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = context.HttpContext,
                    ProblemDetails =
                    {
                        Status = StatusCodes.Status429TooManyRequests,
                        Title = "Too many requests",
                        Detail = "This API key is over its request rate; retry after the time in the Retry-After header.",
                    },
                });
            };
        });
        return services;
    }
}
