using Discounts.Core.Domain;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Discounts.Core.Data;

public sealed class DiscountsDbContext(DbContextOptions<DiscountsDbContext> options) : DbContext(options)
{
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
    public DbSet<ErasedUser> ErasedUsers => Set<ErasedUser>();

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        // SQLite keeps no time zone: every DateTime is written as UTC and read back marked UTC.
        configurationBuilder.Properties<DateTime>().HaveConversion<UtcDateTimeConverter>();
        configurationBuilder.Properties<DateTime?>().HaveConversion<UtcDateTimeConverter>();
        configurationBuilder.Properties<string>().UseCollation("BINARY");
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
                t.HasCheckConstraint("CK_Items_PriceCents", "PriceCents >= 0");
                t.HasCheckConstraint("CK_Items_CostCents", "CostCents >= 0");
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
            interaction.HasOne(e => e.User).WithMany().HasForeignKey(e => e.UserId).OnDelete(DeleteBehavior.Cascade);
            interaction.HasOne(e => e.Item).WithMany().HasForeignKey(e => e.ItemId).OnDelete(DeleteBehavior.Cascade);
            interaction.HasOne(e => e.Offer).WithMany().HasForeignKey(e => e.OfferId).OnDelete(DeleteBehavior.SetNull);
            interaction.ToTable(t => t.HasCheckConstraint("CK_Events_DiscountPercent", "DiscountPercent BETWEEN 0 AND 100"));
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
            offer.Property(o => o.ExternalId).HasMaxLength(Limits.ExternalIdLength);
            offer.HasOne(o => o.User).WithMany().HasForeignKey(o => o.UserId).OnDelete(DeleteBehavior.Cascade);
            offer.HasOne(o => o.Item).WithMany().HasForeignKey(o => o.ItemId).OnDelete(DeleteBehavior.Cascade);
            offer.HasOne(o => o.Campaign).WithMany().HasForeignKey(o => o.CampaignId).OnDelete(DeleteBehavior.Restrict);
            offer.ToTable(t =>
            {
                t.HasCheckConstraint("CK_Offers_DiscountPercent", "DiscountPercent BETWEEN 0 AND 100");
                t.HasCheckConstraint("CK_Offers_FinalPriceCents", "FinalPriceCents >= 0");
            });
        });

        modelBuilder.Entity<Campaign>(campaign =>
        {
            campaign.HasIndex(c => c.ExternalId).IsUnique();
            campaign.Property(c => c.ExternalId).HasMaxLength(Limits.ExternalIdLength);
            campaign.Property(c => c.Name).HasMaxLength(Limits.NameLength);
            // The database itself refuses an overspend, whatever the application does.
            campaign.ToTable(t => t.HasCheckConstraint("CK_Campaigns_Budget", "SpentCents >= 0 AND SpentCents <= BudgetCents"));
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

        modelBuilder.Entity<ModelVersion>(model =>
        {
            model.HasIndex(m => m.Name).IsUnique();
            model.HasIndex(m => m.Status);
            model.Property(m => m.Sha256).HasMaxLength(64);
            model.HasOne(m => m.TrainingRun).WithMany().HasForeignKey(m => m.TrainingRunId).OnDelete(DeleteBehavior.SetNull);
        });
    }

    private sealed class UtcDateTimeConverter() : ValueConverter<DateTime, DateTime>(
        toStore => toStore.Kind == DateTimeKind.Utc ? toStore : toStore.ToUniversalTime(),
        fromStore => DateTime.SpecifyKind(fromStore, DateTimeKind.Utc));
}
