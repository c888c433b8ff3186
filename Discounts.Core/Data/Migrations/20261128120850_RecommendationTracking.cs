using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Discounts.Core.Data.Migrations
{
    /// <inheritdoc />
    public partial class RecommendationTracking : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "RecommendationId",
                table: "Events",
                type: "TEXT",
                maxLength: 128,
                nullable: true,
                collation: "BINARY");

            migrationBuilder.CreateTable(
                name: "RecommendationBlends",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    Version = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false, collation: "BINARY"),
                    ModelVersion = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false, collation: "BINARY"),
                    WeightsJson = table.Column<string>(type: "TEXT", nullable: false, collation: "BINARY"),
                    MetricsJson = table.Column<string>(type: "TEXT", nullable: false, collation: "BINARY"),
                    FittedAt = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_RecommendationBlends", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "RecommendationImpressions",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    RecommendationId = table.Column<string>(type: "TEXT", maxLength: 128, nullable: false, collation: "BINARY"),
                    UserId = table.Column<long>(type: "INTEGER", nullable: false),
                    ItemId = table.Column<long>(type: "INTEGER", nullable: false),
                    Position = table.Column<int>(type: "INTEGER", nullable: false),
                    Score = table.Column<double>(type: "REAL", nullable: false),
                    Sources = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false, collation: "BINARY"),
                    ModelVersion = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false, collation: "BINARY"),
                    BlendVersion = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false, collation: "BINARY"),
                    CreatedAt = table.Column<DateTime>(type: "TEXT", nullable: false)
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
