using Discounts.Training.Runtime;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TorchSharp;

namespace Discounts.Tests.Training;

[TestFixture]
public sealed class TorchRuntimeTests
{
    [Test]
    public void Device_WhenConfiguredForCpu_InitialisesOnCpuWithRequestedThreads()
    {
        var before = torch.get_num_threads();
        try
        {
            var runtime = Build(new() { ["Training:Device"] = "cpu", ["Training:Threads"] = "1" });
            Assert.Multiple(() =>
            {
                Assert.That(runtime.Device.type, Is.EqualTo(DeviceType.CPU));
                Assert.That(torch.get_num_threads(), Is.EqualTo(1));
            });
        }
        finally
        {
            torch.set_num_threads(before);
        }
    }

    [Test]
    public void Device_WhenAuto_PicksCudaOnlyIfAvailable()
    {
        var runtime = Build(new() { ["Training:Device"] = "auto" });
        var expected = TorchRuntime.IsCudaAvailable() ? DeviceType.CUDA : DeviceType.CPU;
        Assert.That(runtime.Device.type, Is.EqualTo(expected));
    }

    [Test]
    public void Options_WhenDeviceIsUnknown_FailValidation()
    {
        var services = Services(new() { ["Training:Device"] = "tpu" });
        using var provider = services.BuildServiceProvider();
        Assert.Throws<OptionsValidationException>(() => _ = provider.GetRequiredService<IOptions<TrainingOptions>>().Value);
    }

    [Test]
    [Category("Gpu")]
    public void Device_WhenCudaRequestedOnGpuMachine_RunsAMatmulOnCuda()
    {
        if (!TorchRuntime.IsCudaAvailable()) Assert.Ignore("No CUDA device on this machine.");
        var runtime = Build(new() { ["Training:Device"] = "cuda" });
        using var a = torch.ones(64, 64, device: runtime.Device);
        using var product = a.matmul(a);
        Assert.That(product.cpu()[0, 0].item<float>(), Is.EqualTo(64f));
    }

    private static TorchRuntime Build(Dictionary<string, string?> settings)
    {
        using var provider = Services(settings).BuildServiceProvider();
        return provider.GetRequiredService<TorchRuntime>();
    }

    private static ServiceCollection Services(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddTorchRuntime(configuration);
        return services;
    }
}

[TestFixture]
public sealed class OpenMpWaitPolicyTests
{
    [Test]
    public void Apply_WhenPolicyIsUnknown_Throws() =>
        Assert.Throws<ArgumentException>(() => OpenMpWaitPolicy.Apply("sometimes"));

    [Test]
    public void Apply_WhenVariableIsAlreadySet_KeepsIt()
    {
        // The namespace set-up has already applied "passive" (or the environment set it): a second call changes nothing.
        var before = Environment.GetEnvironmentVariable(OpenMpWaitPolicy.VariableName);
        Assert.That(before, Is.Not.Null.And.Not.Empty);
        Assert.That(OpenMpWaitPolicy.Apply("active"), Is.EqualTo(before));
    }
}
