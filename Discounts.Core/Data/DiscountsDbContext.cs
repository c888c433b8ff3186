using Discounts.Core.Domain;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Discounts.Core.Data;

/// <summary>
/// The shop's context on SQLite, the embedded default. <see cref="PostgresDiscountsDbContext"/> is the same model on
/// PostgreSQL with its own migrations; the two differ only where the SQL itself differs (collation, quoting).
/// </summary>
public class DiscountsDbContext : DbContext
{
    public DiscountsDbContext(DbContextOptions<DiscountsDbContext> options)
        : base(options)
    {
    }

    protected DiscountsDbContext(DbContextOptions options)
        : base(options)
    {
    }

    public DbSet<Item> Items => Set<Item>();
    public DbSet<User> Users => Set<User>();
    public DbSet<UserText> UserTexts => Set<UserText>();
    public DbSet<InteractionEvent> Events => Set<InteractionEvent>();
    public DbSet<UserProfile> Profiles => Set<UserProfile>();
    public DbSet<Offer> Offers => Set<Offer>();
    public DbSet<Campaign> Campaigns => Set<Campaign>();
    public DbSet<TrainingRun> TrainingRuns => Set<TrainingRun>();
    public DbSet<LossPoint> LossPoints => Set<LossPoint>();
    public DbSet<ModelVersion> ModelVersions => Set<ModelVersion>();
    public DbSet<ProfileRefreshRequest> ProfileRefreshRequests => Set<ProfileRefreshRequest>();
    public DbSet<TextModelRecord> TextModels => Set<TextModelRecord>();
    public DbSet<TextTerm> TextTerms => Set<TextTerm>();
    public DbSet<TextCorpusState> TextCorpus => Set<TextCorpusState>();
    public DbSet<ErasedUser> ErasedUsers => Set<ErasedUser>();
    public DbSet<RecommendationList> RecommendationLists => Set<RecommendationList>();
    public DbSet<RecommendationBlend> RecommendationBlends => Set<RecommendationBlend>();
    public DbSet<NodeHeartbeat> NodeHeartbeats => Set<NodeHeartbeat>();

    /// <summary>A byte-wise, case-sensitive collation: SQLite's BINARY, PostgreSQL's "C".</summary>
    protected virtual string BinaryCollation => "BINARY";

    /// <summary>A column name as check-constraint SQL must spell it (PostgreSQL folds unquoted names to lower case).</summary>
    protected virtual string Column(string name) => name;

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        // SQLite keeps no time zone: every DateTime is written as UTC and read back marked UTC.
        configurationBuilder.Properties<DateTime>().HaveConversion<UtcDateTimeConverter>();
        configurationBuilder.Properties<DateTime?>().HaveConversion<UtcDateTimeConverter>();
        configurationBuilder.Properties<string>().UseCollation(BinaryCollation);
    }

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<Item>(item =>
        {
            item.HasIndex(i => i.ExternalId).IsUnique();
            item.HasIndex(i => i.Category);
            item.Property(i => i.ExternalId).HasMaxLength(Limits.ExternalIdLength);
            item.Property(i => i.Title).HasMaxLength(Limits.TitleLength);
            item.Property(i => i.Description).HasMaxLength(Limits.DescriptionLength);
            item.Property(i => i.Category).HasMaxLength(Limits.NameLength);
            item.Property(i => i.Brand).HasMaxLength(Limits.NameLength);
            item.ToTable(t =>
            {
                t.HasCheckConstraint("CK_Items_PriceCents", $"{Column("PriceCents")} >= 0");
                t.HasCheckConstraint("CK_Items_CostCents", $"{Column("CostCents")} >= 0");
            });
        });

        modelBuilder.Entity<User>(user =>
        {
            user.HasIndex(u => u.ExternalId).IsUnique();
            user.Property(u => u.ExternalId).HasMaxLength(Limits.ExternalIdLength);
        });

        modelBuilder.Entity<UserText>(text =>
        {
            text.HasIndex(t => new { t.UserId, t.OccurredAt });
            text.Property(t => t.Text).HasMaxLength(Limits.TextLength);
            text.HasOne(t => t.User).WithMany().HasForeignKey(t => t.UserId).OnDelete(DeleteBehavior.Cascade);
            text.HasOne(t => t.Item).WithMany().HasForeignKey(t => t.ItemId).OnDelete(DeleteBehavior.SetNull);
        });

        modelBuilder.Entity<InteractionEvent>(interaction =>
        {
            interaction.HasIndex(e => e.IdempotencyKey).IsUnique();
            interaction.HasIndex(e => new { e.UserId, e.OccurredAt });
            interaction.HasIndex(e => new { e.ItemId, e.Kind });
            interaction.Property(e => e.IdempotencyKey).HasMaxLength(Limits.ExternalIdLength);
            interaction.Property(e => e.RecommendationId).HasMaxLength(Limits.ExternalIdLength);
            interaction.HasIndex(e => e.RecommendationId);
            interaction.HasOne(e => e.User).WithMany().HasForeignKey(e => e.UserId).OnDelete(DeleteBehavior.Cascade);
            interaction.HasOne(e => e.Item).WithMany().HasForeignKey(e => e.ItemId).OnDelete(DeleteBehavior.Cascade);
            interaction.HasOne(e => e.Offer).WithMany().HasForeignKey(e => e.OfferId).OnDelete(DeleteBehavior.SetNull);
            interaction.ToTable(t => t.HasCheckConstraint("CK_Events_DiscountPercent", $"{Column("DiscountPercent")} BETWEEN 0 AND 100"));
        });

        modelBuilder.Entity<UserProfile>(profile =>
        {
            profile.HasKey(p => p.UserId);
            profile.HasOne(p => p.User).WithOne().HasForeignKey<UserProfile>(p => p.UserId).OnDelete(DeleteBehavior.Cascade);
        });

        modelBuilder.Entity<ProfileRefreshRequest>(request =>
        {
            request.HasKey(r => r.UserId);
            request.HasOne<User>().WithOne().HasForeignKey<ProfileRefreshRequest>(r => r.UserId).OnDelete(DeleteBehavior.Cascade);
        });

        modelBuilder.Entity<TextTerm>(term =>
        {
            term.HasKey(t => t.Term);
            term.Property(t => t.Term).HasMaxLength(Limits.TermLength);
        });

        modelBuilder.Entity<TextCorpusState>(state =>
        {
            state.HasKey(s => s.Id);
            state.Property(s => s.Id).ValueGeneratedNever();
            state.Property(s => s.TextModelVersion).HasMaxLength(Limits.ExternalIdLength);
        });

        modelBuilder.Entity<TextModelRecord>(model =>
        {
            model.HasIndex(m => m.Version).IsUnique();
            model.HasIndex(m => m.IsActive);
            model.Property(m => m.Version).HasMaxLength(Limits.ExternalIdLength);
        });

        modelBuilder.Entity<Offer>(offer =>
        {
            offer.HasIndex(o => o.ExternalId).IsUnique();
            offer.HasIndex(o => new { o.UserId, o.CreatedAt });
            // A quote counts the user's discounted offers today: at most the daily cap of rows, however many were quoted.
            offer.HasIndex(o => new { o.UserId, o.CreatedAt }, "IX_Offers_Discounted_UserId_CreatedAt").HasFilter($"{Column("DiscountPercent")} > 0");
            offer.Property(o => o.ExternalId).HasMaxLength(Limits.ExternalIdLength);
            offer.Property(o => o.ScorerVersion).HasMaxLength(Limits.NameLength);
            offer.HasOne(o => o.User).WithMany().HasForeignKey(o => o.UserId).OnDelete(DeleteBehavior.Cascade);
            offer.HasOne(o => o.Item).WithMany().HasForeignKey(o => o.ItemId).OnDelete(DeleteBehavior.Cascade);
            offer.HasOne(o => o.Campaign).WithMany().HasForeignKey(o => o.CampaignId).OnDelete(DeleteBehavior.Restrict);
            offer.ToTable(t =>
            {
                t.HasCheckConstraint("CK_Offers_DiscountPercent", $"{Column("DiscountPercent")} BETWEEN 0 AND 100");
                t.HasCheckConstraint("CK_Offers_FinalPriceCents", $"{Column("FinalPriceCents")} >= 0");
                t.HasCheckConstraint("CK_Offers_ScorerProbability", $"{Column("ScorerProbability")} BETWEEN 0 AND 1");
            });
        });

        modelBuilder.Entity<Campaign>(campaign =>
        {
            campaign.HasIndex(c => c.ExternalId).IsUnique();
            campaign.Property(c => c.ExternalId).HasMaxLength(Limits.ExternalIdLength);
            campaign.Property(c => c.Name).HasMaxLength(Limits.NameLength);
            // The database itself refuses an overspend, whatever the application does.
            campaign.ToTable(t => t.HasCheckConstraint("CK_Campaigns_Budget", $"{Column("SpentCents")} >= 0 AND {Column("SpentCents")} <= {Column("BudgetCents")}"));
        });

        modelBuilder.Entity<ErasedUser>(erased =>
        {
            erased.HasIndex(e => e.ExternalIdSha256);
            erased.Property(e => e.ExternalIdSha256).HasMaxLength(64);
        });

        modelBuilder.Entity<TrainingRun>(run =>
        {
            run.HasIndex(r => r.Status);
            run.HasMany(r => r.LossPoints).WithOne().HasForeignKey(p => p.TrainingRunId).OnDelete(DeleteBehavior.Cascade);
        });

        modelBuilder.Entity<LossPoint>(point => point.HasIndex(p => new { p.TrainingRunId, p.Step }));

        modelBuilder.Entity<RecommendationList>(list =>
        {
            list.HasIndex(l => l.RecommendationId).IsUnique();
            list.Property(l => l.RecommendationId).HasMaxLength(Limits.ExternalIdLength);
            list.Property(l => l.ModelVersion).HasMaxLength(Limits.NameLength);
            list.Property(l => l.BlendVersion).HasMaxLength(Limits.NameLength);
            list.ToTable(t => t.HasCheckConstraint("CK_RecommendationLists_ItemCount", $"{Column(nameof(RecommendationList.ItemCount))} >= 0"));
            list.HasOne<User>().WithMany().HasForeignKey(l => l.UserId).OnDelete(DeleteBehavior.Cascade);
        });

        modelBuilder.Entity<RecommendationBlend>(blend =>
        {
            blend.HasIndex(b => b.Version).IsUnique();
            blend.HasIndex(b => new { b.ModelVersion, b.FittedAt });
            blend.Property(b => b.Version).HasMaxLength(Limits.NameLength);
            blend.Property(b => b.ModelVersion).HasMaxLength(Limits.NameLength);
        });

        modelBuilder.Entity<ModelVersion>(model =>
        {
            model.HasIndex(m => m.Name).IsUnique();
            model.HasIndex(m => m.Status);
            model.Property(m => m.Sha256).HasMaxLength(64);
            model.HasOne(m => m.TrainingRun).WithMany().HasForeignKey(m => m.TrainingRunId).OnDelete(DeleteBehavior.SetNull);
        });

        modelBuilder.Entity<NodeHeartbeat>(node =>
        {
            node.HasKey(n => n.NodeId);
            node.Property(n => n.NodeId).HasMaxLength(Limits.ExternalIdLength);
            node.Property(n => n.Roles).HasMaxLength(Limits.NameLength);
            node.Property(n => n.LoadedModelName).HasMaxLength(Limits.NameLength);
            node.Property(n => n.LoadedSha256).HasMaxLength(64);
        });
    }

    private sealed class UtcDateTimeConverter() : ValueConverter<DateTime, DateTime>(
        toStore => toStore.Kind == DateTimeKind.Utc ? toStore : toStore.ToUniversalTime(),
        fromStore => DateTime.SpecifyKind(fromStore, DateTimeKind.Utc));
}
