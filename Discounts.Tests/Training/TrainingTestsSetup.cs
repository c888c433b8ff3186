using Discounts.Training.Runtime;

namespace Discounts.Tests.Training;

/// <summary>Runs before any test in this namespace, so before libtorch loads in the test process.</summary>
[SetUpFixture]
public sealed class TrainingTestsSetup
{
    [OneTimeSetUp]
    public void UsePassiveOpenMpWaiting() => OpenMpWaitPolicy.Apply("passive");
}
