using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Scalar.AspNetCore;

namespace Discounts.Web.Infrastructure;

public static class OpenApiSetup
{
    public static IServiceCollection AddDiscountsOpenApi(this IServiceCollection services) =>
        services.AddOpenApi(options =>
        {
            // Every slice nests its own Command, Query and Result; qualify them by the slice so schema ids stay unique.
            options.CreateSchemaReferenceId = type =>
                type.Type.DeclaringType is { } slice && !type.Type.IsGenericType
                    ? slice.Name + type.Type.Name
                    : OpenApiOptions.CreateDefaultSchemaReferenceId(type);
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info = new OpenApiInfo
                {
                    Title = "Discounts API",
                    Version = "v1",
                    Description = "Personalised recommendations and discount quotes. Authenticate with the X-Api-Key header.",
                };
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
                document.Components.SecuritySchemes[ApiKeyAuthenticationHandler.SchemeName] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.ApiKey,
                    In = ParameterLocation.Header,
                    Name = ApiKeyStore.HeaderName,
                    Description = "An API key with the role the endpoint needs (Shop, Analyst, Scientist or Admin).",
                };
                document.Security ??= [];
                document.Security.Add(new OpenApiSecurityRequirement
                {
                    [new OpenApiSecuritySchemeReference(ApiKeyAuthenticationHandler.SchemeName, document)] = [],
                });
                return Task.CompletedTask;
            });
        });

    public static void MapDiscountsOpenApi(this IEndpointRouteBuilder endpoints)
    {
        // One fixed document path: the default "{documentName}" route answers unknown names with a bare-text 404.
        endpoints.MapOpenApi("/openapi/v1.json");
        endpoints.MapScalarApiReference("/scalar", scalar => scalar.WithTitle("Discounts API"));
    }
}
