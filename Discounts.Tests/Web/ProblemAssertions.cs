using System.Net;
using System.Text.Json;

namespace Discounts.Tests.Web;

public static class ProblemAssertions
{
    /// <summary>Asserts a ProblemDetails response with the given status, and returns its body.</summary>
    public static async Task<JsonElement> AssertProblemAsync(this HttpResponseMessage response, HttpStatusCode status)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(status), body);
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"), body);
        var json = JsonDocument.Parse(body).RootElement;
        Assert.That(json.GetProperty("status").GetInt32(), Is.EqualTo((int)status));
        return json;
    }

    /// <summary>Asserts a 400 ValidationProblemDetails whose errors name the field.</summary>
    public static async Task<JsonElement> AssertFieldErrorAsync(this HttpResponseMessage response, string field)
    {
        var json = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        var errors = json.GetProperty("errors").EnumerateObject().Select(p => p.Name).ToList();
        Assert.That(errors, Does.Contain(field), json.ToString());
        return json;
    }
}
