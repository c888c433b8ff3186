using Discounts.Training.Bert;
using Discounts.Training.Weights;

namespace Discounts.Tests.Training;

[TestFixture]
public sealed class OnnxToHuggingFaceTests
{
    [Test]
    public void Map_WhenGivenPackagedMiniLm_Yields103TensorsMatchingBertModelKeys()
    {
        var weights = OnnxToHuggingFace.Map(OnnxModel.Parse(MiniLmPackage.FromOutputFolder().ReadOnnxModel()));
        using var model = new BertModel(BertConfig.AllMiniLmL6V2);
        var modelKeys = model.state_dict().Keys.ToHashSet();

        var missing = modelKeys.Except(weights.Keys).ToList();
        var unexpected = weights.Keys.Except(modelKeys).ToList();
        TestContext.Out.WriteLine($"mapped {weights.Count} tensors, {missing.Count} missing, {unexpected.Count} unexpected");
        Assert.Multiple(() =>
        {
            Assert.That(weights, Has.Count.EqualTo(103));
            Assert.That(missing, Is.Empty);
            Assert.That(unexpected, Is.Empty);
            foreach (var (key, parameter) in model.state_dict())
                Assert.That(weights[key].Shape, Is.EqualTo(parameter.shape), key);
        });
    }

    [Test]
    public void Map_WhenLinearWeightIsAnonymous_TransposesItUnderTheBiasName()
    {
        var model = OnnxModel.Parse(MiniLmPackage.FromOutputFolder().ReadOnnxModel());
        var weights = OnnxToHuggingFace.Map(model);
        var query = weights["encoder.layer.0.attention.self.query.weight"];
        // The anonymous initializer feeding layer 0's query MatMul is [in, out]; the mapped weight is [out, in].
        var matMul = model.Nodes.First(node => node.OpType == "MatMul"
            && model.Nodes.Any(add => add.OpType == "Add" && add.Inputs.Contains(node.Outputs[0])
                && add.Inputs.Contains("encoder.layer.0.attention.self.query.bias")));
        var raw = model.Initializers.Single(t => t.Name == matMul.Inputs[1]);

        Assert.That(query.Shape, Is.EqualTo(new long[] { raw.Dims[1], raw.Dims[0] }));
        var columns = (int)raw.Dims[1];
        Assert.That(query.Data[(5 * (int)raw.Dims[0]) + 7], Is.EqualTo(raw.FloatData![(7 * columns) + 5]));
    }
}
