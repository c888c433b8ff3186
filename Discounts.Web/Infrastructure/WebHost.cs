using System.Text.Json.Serialization;
using Discounts.Core.Data;
using Discounts.Training.Runtime;
using Discounts.Web.Features;
using FluentValidation;
using Microsoft.Extensions.Configuration.Json;

namespace Discounts.Web.Infrastructure;

/// <summary>The composition of the web host: configuration, services, pipeline and endpoints.</summary>
public static class WebHost
{
    public const string DefaultUrl = "http://127.0.0.1:5080";

    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.Configuration.AddRepositorySettings();
        if (string.IsNullOrEmpty(builder.Configuration[WebHostDefaults.ServerUrlsKey]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        var services = builder.Services;
        services.AddSingleton(TimeProvider.System);
        services.AddDiscountsStorage(builder.Configuration);
        services.AddApiKeyAuthentication(builder.Configuration);
        services.AddDiscountsRateLimiting(builder.Configuration);
        services.AddDiscountsJobs(builder.Configuration);
        services.AddDiscountsHealth();
        services.AddDiscountsDiscounting(builder.Configuration);
        services.AddTorchRuntime(builder.Configuration);
        services.AddDiscountsTraining(builder.Configuration);
        services.AddDiscountsTelemetry();
        services.AddDiscountsOpenApi();
        services.AddMediator((Mediator.MediatorOptions options) =>
        {
            options.ServiceLifetime = ServiceLifetime.Scoped;
            options.PipelineBehaviors = [typeof(LoggingBehavior<,>), typeof(ValidationBehavior<,>)];
        });
        services.AddValidatorsFromAssemblyContaining<ProblemExceptionHandler>(includeInternalTypes: true);
        services.AddProblemDetails();
        services.AddExceptionHandler<ProblemExceptionHandler>();
        // Binding failures (a number that is not a number, broken JSON) throw, so the one handler names the field.
        services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        services.ConfigureHttpJsonOptions(options =>
            options.SerializerOptions.Converters.Add(new JsonStringEnumConverter(System.Text.Json.JsonNamingPolicy.CamelCase, allowIntegerValues: false)));

        var app = builder.Build();
        // Resolved now, not at the first request, so a generated Admin key is announced as the host starts.
        app.Services.GetRequiredService<ApiKeyStore>();
        app.Services.GetRequiredService<Hangfire.IRecurringJobManager>().ScheduleDiscountingJobs();
        app.Services.GetRequiredService<Hangfire.IRecurringJobManager>().ScheduleTrainingJobs(
            app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<TrainingScheduleOptions>>().Value);
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseAuthentication();
        app.UseRateLimiter();
        app.UseAuthorization();
        app.MapDiscountsHealth();
        app.MapDiscountsOpenApi();
        app.MapDiscountsMetrics();
        app.MapDiscountsDashboard();
        app.MapDiscountsApi();
        return app;
    }

    /// <summary>
    /// The repository's appsettings.json is the host's one configuration file. It is added first, so environment
    /// variables and the command line still override it.
    /// </summary>
    private static void AddRepositorySettings(this IConfigurationManager configuration)
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
