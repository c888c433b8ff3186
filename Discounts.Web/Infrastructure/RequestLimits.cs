using Microsoft.AspNetCore.Http.Metadata;

namespace Discounts.Web.Infrastructure;

public static class RequestLimitsSetup
{
    /// <summary>
    /// Refuses a body whose declared length passes the endpoint's size limit with 413 before a byte is read. Kestrel
    /// enforces the same limit on bodies without a declared length; this makes the answer the same on every server.
    /// </summary>
    public static IApplicationBuilder UseDeclaredBodySizeLimits(this IApplicationBuilder app) =>
        app.Use(async (context, next) =>
        {
            if (context.GetEndpoint()?.Metadata.GetMetadata<IRequestSizeLimitMetadata>() is { MaxRequestBodySize: { } limit }
                && context.Request.ContentLength > limit)
            {
                throw new BadHttpRequestException($"The request body is larger than {limit:N0} bytes.", StatusCodes.Status413PayloadTooLarge);
            }

            await next(context);
        });
}
