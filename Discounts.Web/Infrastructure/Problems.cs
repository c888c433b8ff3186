using System.Text.Json;
using System.Text.RegularExpressions;
using FluentValidation;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace Discounts.Web.Infrastructure;

/// <summary>Thrown by a handler when the thing asked for does not exist; becomes a 404.</summary>
public sealed class NotFoundException(string what, string id) : Exception($"{what} '{id}' was not found.")
{
    public string What { get; } = what;
}

/// <summary>Thrown by a handler when the request clashes with the current state; becomes a 409.</summary>
public sealed class ConflictException(string message) : Exception(message);

/// <summary>Thrown by a handler for any other refusal with its own status (410 for an expired offer, say).</summary>
public sealed class ProblemException(int status, string title, string detail) : Exception(detail)
{
    public int Status { get; } = status;
    public string Title { get; } = title;
}

/// <summary>
/// The one place that turns failures into ProblemDetails: validation and binding errors become a 400 naming the
/// field, missing things a 404, clashes a 409, and anything unexpected a 500 without internals.
/// </summary>
public sealed partial class ProblemExceptionHandler(IProblemDetailsService problemDetails, ILogger<ProblemExceptionHandler> logger)
    : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        ProblemDetails problem = exception switch
        {
            ValidationException validation => new HttpValidationProblemDetails(
                validation.Errors.GroupBy(e => JsonFieldName(e.PropertyName))
                    .ToDictionary(g => g.Key, g => g.Select(e => e.ErrorMessage).Distinct().ToArray()))
            {
                Status = StatusCodes.Status400BadRequest,
                Title = "The request is not valid",
            },
            BadHttpRequestException badRequest => FromBadRequest(badRequest),
            NotFoundException notFound => new ProblemDetails
            {
                Status = StatusCodes.Status404NotFound, Title = $"{notFound.What} not found", Detail = notFound.Message,
            },
            ConflictException conflict => new ProblemDetails
            {
                Status = StatusCodes.Status409Conflict, Title = "Conflict", Detail = conflict.Message,
            },
            ProblemException refusal => new ProblemDetails
            {
                Status = refusal.Status, Title = refusal.Title, Detail = refusal.Message,
            },
            OperationCanceledException when httpContext.RequestAborted.IsCancellationRequested => new ProblemDetails
            {
                Status = 499, Title = "The client closed the request",
            },
            _ => new ProblemDetails
            {
                Status = StatusCodes.Status500InternalServerError,
                Title = "An unexpected error occurred",
                Detail = "The error was logged with the trace id below.",
            },
        };

        if (problem.Status == StatusCodes.Status500InternalServerError)
        {
            LogUnhandled(logger, exception.GetType().Name, httpContext.Request.Path);
        }

        httpContext.Response.StatusCode = problem.Status!.Value;
        return await problemDetails.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            ProblemDetails = problem,
            Exception = exception,
        });
    }

    private static ProblemDetails FromBadRequest(BadHttpRequestException exception)
    {
        var field = exception.InnerException is JsonException { Path: { } path }
            ? JsonPathToField(path)
            : BindingParameter().Match(exception.Message) is { Success: true } match ? match.Groups["name"].Value : "body";
        var message = exception.InnerException is JsonException json
            ? $"The JSON is not valid here: {FirstSentence(json.Message)}"
            : exception.Message;
        return new HttpValidationProblemDetails(new Dictionary<string, string[]> { [field] = [message] })
        {
            Status = exception.StatusCode,
            Title = exception.StatusCode == StatusCodes.Status413PayloadTooLarge ? "The request body is too large" : "The request is not valid",
        };
    }

    /// <summary>"$.items[3].priceCents" becomes "items[3].priceCents"; the root itself is "body".</summary>
    private static string JsonPathToField(string path) => path.TrimStart('$').TrimStart('.') is { Length: > 0 } field ? field : "body";

    /// <summary>Validators name C# properties ("Items[3].PriceCents"); the API speaks camelCase JSON.</summary>
    private static string JsonFieldName(string propertyName) =>
        string.Join('.', propertyName.Split('.').Select(part => part.Length > 0 ? char.ToLowerInvariant(part[0]) + part[1..] : part));

    private static string FirstSentence(string message) => message.Split(". ")[0].TrimEnd('.') + ".";

    [GeneratedRegex("""parameter "(?:[^" ]+ )?(?<name>[^" ]+)" """)]
    private static partial Regex BindingParameter();

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled {ExceptionType} on {Path}")]
    private static partial void LogUnhandled(ILogger logger, string exceptionType, PathString path);
}
