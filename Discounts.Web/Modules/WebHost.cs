using System.Text.Json.Serialization;
using Discounts.Core.Data;
using Discounts.Core.Hosting;
using Discounts.Training;
using Discounts.Web.Features;
using FluentValidation;
using Microsoft.Extensions.Configuration.Json;

using Discounts.Web.Infrastructure;

namespace Discounts.Web.Modules;

/// <summary>The composition of the web host: configuration, services, pipeline and endpoints.</summary>
public static class WebHost
{
    public const string DefaultUrl = "http://127.0.0.1:5080";

    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, WebRootPath = PublishedWebRoot() });
        builder.Configuration.AddRepositorySettings();
        ServeBuiltStaticAssets(builder);
        if (string.IsNullOrEmpty(builder.Configuration[WebHostDefaults.ServerUrlsKey]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        builder.Services.AddDiscountsServices(builder.Configuration);
        builder.Services.AddDiscountsUi();

        var app = builder.Build();
        // Resolved now, not at the first request, so a generated Admin key is announced as the host starts.
        app.Services.GetRequiredService<ApiKeyStore>();
        app.Services.GetRequiredService<Hangfire.IRecurringJobManager>().ScheduleDiscountingJobs(
            app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<Discounts.Core.Discounting.DiscountingOptions>>().Value);
        app.Services.GetRequiredService<Hangfire.IRecurringJobManager>().ScheduleTrainingJobs(
            app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<TrainingScheduleOptions>>().Value);
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseDeclaredBodySizeLimits();
        // The UI's stylesheet, scripts and vendored chart library are public, so they are served before authentication.
        app.UseStaticFiles();
        app.UseAuthentication();
        app.UseRateLimiter();
        app.UseAuthorization();
        app.MapDiscountsHealth();
        app.MapDiscountsMetrics();
        // Nodes without the web role still listen, for health probes and metrics, but serve no API.
        if (app.Services.GetRequiredService<NodeIdentity>().Roles.HasFlag(NodeRoles.Web))
        {
            app.MapDiscountsOpenApi();
            app.MapDiscountsDashboard();
            app.MapDiscountsApi();
            app.MapDiscountsUi();
        }

        return app;
    }

    /// <summary>Everything but Kestrel and the pipeline: the web host and the CLI verbs share it.</summary>
    public static IServiceCollection AddDiscountsServices(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddDiscountsCore(configuration);
        services.AddDiscountsTraining(configuration);
        services.AddDiscountsNodes(configuration);
        services.AddApiKeyAuthentication(configuration);
        services.AddDiscountsRateLimiting(configuration);
        services.AddDiscountsJobs(configuration);
        services.AddDiscountsHealth();
        services.AddDiscountsDiscountingSlices();
        services.AddDiscountsTrainingJobs(configuration);
        services.AddDiscountsTelemetry();
        services.AddDiscountsOpenApi();
        services.AddMediator((Mediator.MediatorOptions options) =>
        {
            options.ServiceLifetime = ServiceLifetime.Scoped;
            options.PipelineBehaviors = [typeof(LoggingBehavior<,>), typeof(ValidationBehavior<,>)];
        });
        // Singletons: a validator builds its rule tree in its constructor, which per request was 2 % of a ranking's CPU;
        // none depends on anything scoped.
        services.AddValidatorsFromAssemblyContaining<ProblemExceptionHandler>(ServiceLifetime.Singleton, includeInternalTypes: true);
        // A rule stops at its first failure, so a later check never runs on a value an earlier one refused (a null list).
        ValidatorOptions.Global.DefaultRuleLevelCascadeMode = CascadeMode.Stop;
        services.AddProblemDetails();
        services.AddExceptionHandler<ProblemExceptionHandler>();
        // Binding failures (a number that is not a number, broken JSON) throw, so the one handler names the field.
        services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        services.ConfigureHttpJsonOptions(options =>
            options.SerializerOptions.Converters.Add(new JsonStringEnumConverter(System.Text.Json.JsonNamingPolicy.CamelCase, allowIntegerValues: false)));
        services.AddDiscountsProfilingJobs();
        services.AddDiscountsRecommendationJobs();
        return services;
    }

    /// <summary>
    /// The repository's appsettings.json is the host's one configuration file. It is added first, so environment
    /// variables and the command line still override it.
    /// </summary>
    /// <summary>
    /// The content root is the working directory, so a published host started from elsewhere (a service manager, a
    /// load script) would look for wwwroot there; the copy published next to the DLL is the one meant.
    /// </summary>
    private static string? PublishedWebRoot()
    {
        var published = Path.Combine(AppContext.BaseDirectory, "wwwroot");
        return !Directory.Exists(Path.Combine(Directory.GetCurrentDirectory(), "wwwroot")) && Directory.Exists(published) ? published : null;
    }

    /// <summary>
    /// A build (not a publish) has no wwwroot beside the DLL, only the static-web-assets manifest pointing at the
    /// project's files, which ASP.NET reads by itself in Development alone; a Release build run with `dotnet
    /// Discounts.Web.dll` from any folder must serve the UI's stylesheet and scripts too.
    /// </summary>
    private static void ServeBuiltStaticAssets(WebApplicationBuilder builder)
    {
        var manifest = Path.Combine(AppContext.BaseDirectory, $"{builder.Environment.ApplicationName}.staticwebassets.runtime.json");
        if (!builder.Environment.IsDevelopment() && !Directory.Exists(builder.Environment.WebRootPath) && File.Exists(manifest))
        {
            builder.WebHost.UseStaticWebAssets();
        }
    }

    public static void AddRepositorySettings(this IConfigurationManager configuration)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "appsettings.json");
        if (!File.Exists(path))
        {
            path = Path.Combine(RepositoryRoot.Find(), "appsettings.json");
        }

        var source = new JsonConfigurationSource { Path = path, Optional = false, ReloadOnChange = false };
        source.ResolveFileProvider();
        configuration.Sources.Insert(0, source);
    }
}
