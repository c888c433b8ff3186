using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace Discounts.Core.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class RecommendationsAndErasures : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "RecommendationId",
                table: "Events",
                type: "character varying(128)",
                maxLength: 128,
                nullable: true,
                collation: "C");

            migrationBuilder.CreateTable(
                name: "ErasedUsers",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    ExternalIdSha256 = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false, collation: "C"),
                    ErasedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_ErasedUsers", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "RecommendationBlends",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    Version = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false, collation: "C"),
                    ModelVersion = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false, collation: "C"),
                    WeightsJson = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    MetricsJson = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    FittedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_RecommendationBlends", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "RecommendationImpressions",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    RecommendationId = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false, collation: "C"),
                    UserId = table.Column<long>(type: "bigint", nullable: false),
                    ItemId = table.Column<long>(type: "bigint", nullable: false),
                    Position = table.Column<int>(type: "integer", nullable: false),
                    Score = table.Column<double>(type: "double precision", nullable: false),
                    Sources = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false, collation: "C"),
                    ModelVersion = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false, collation: "C"),
                    BlendVersion = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false, collation: "C"),
                    CreatedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_RecommendationImpressions", x => x.Id);
                    table.ForeignKey(
                        name: "FK_RecommendationImpressions_Items_ItemId",
                        column: x => x.ItemId,
                        principalTable: "Items",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "FK_RecommendationImpressions_Users_UserId",
                        column: x => x.UserId,
                        principalTable: "Users",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_Events_RecommendationId",
                table: "Events",
                column: "RecommendationId");

            migrationBuilder.CreateIndex(
                name: "IX_ErasedUsers_ExternalIdSha256",
                table: "ErasedUsers",
                column: "ExternalIdSha256");

            migrationBuilder.CreateIndex(
                name: "IX_RecommendationBlends_ModelVersion_FittedAt",
                table: "RecommendationBlends",
                columns: new[] { "ModelVersion", "FittedAt" });

            migrationBuilder.CreateIndex(
                name: "IX_RecommendationBlends_Version",
                table: "RecommendationBlends",
                column: "Version",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_RecommendationImpressions_ItemId",
                table: "RecommendationImpressions",
                column: "ItemId");

            migrationBuilder.CreateIndex(
                name: "IX_RecommendationImpressions_ModelVersion",
                table: "RecommendationImpressions",
                column: "ModelVersion");

            migrationBuilder.CreateIndex(
                name: "IX_RecommendationImpressions_RecommendationId_ItemId",
                table: "RecommendationImpressions",
                columns: new[] { "RecommendationId", "ItemId" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_RecommendationImpressions_UserId",
                table: "RecommendationImpressions",
                column: "UserId");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "ErasedUsers");

            migrationBuilder.DropTable(
                name: "RecommendationBlends");

            migrationBuilder.DropTable(
                name: "RecommendationImpressions");

            migrationBuilder.DropIndex(
                name: "IX_Events_RecommendationId",
                table: "Events");

            migrationBuilder.DropColumn(
                name: "RecommendationId",
                table: "Events");
        }
    }
}
