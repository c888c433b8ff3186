using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Discounts.Core.Data.Migrations
{
    /// <inheritdoc />
    public partial class RecommendationLists : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "RecommendationLists",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    RecommendationId = table.Column<string>(type: "TEXT", maxLength: 128, nullable: false, collation: "BINARY"),
                    UserId = table.Column<long>(type: "INTEGER", nullable: false),
                    ModelVersion = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false, collation: "BINARY"),
                    BlendVersion = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false, collation: "BINARY"),
                    ItemCount = table.Column<int>(type: "INTEGER", nullable: false),
                    Items = table.Column<string>(type: "TEXT", nullable: false, collation: "BINARY"),
                    CreatedAt = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_RecommendationLists", x => x.Id);
                    table.CheckConstraint("CK_RecommendationLists_ItemCount", "ItemCount >= 0");
                    table.ForeignKey(
                        name: "FK_RecommendationLists_Users_UserId",
                        column: x => x.UserId,
                        principalTable: "Users",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_RecommendationLists_RecommendationId",
                table: "RecommendationLists",
                column: "RecommendationId",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_RecommendationLists_UserId",
                table: "RecommendationLists",
                column: "UserId");

            // One row per served list: the old per-item rows are folded into their lists, in list order, before they go.
            migrationBuilder.Sql("""
                INSERT INTO "RecommendationLists" ("RecommendationId", "UserId", "ModelVersion", "BlendVersion", "ItemCount", "Items", "CreatedAt")
                SELECT "RecommendationId", MIN("UserId"), MIN("ModelVersion"), MIN("BlendVersion"), COUNT(*),
                       json_group_array(json_object('itemId', "ItemId", 'score', "Score", 'sources', "Sources") ORDER BY "Position"),
                       MIN("CreatedAt")
                FROM "RecommendationImpressions"
                GROUP BY "RecommendationId"
                ORDER BY MIN("Id");
                """);

            migrationBuilder.DropTable(
                name: "RecommendationImpressions");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "RecommendationImpressions",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    BlendVersion = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false, collation: "BINARY"),
                    CreatedAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    ItemId = table.Column<long>(type: "INTEGER", nullable: false),
                    ModelVersion = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false, collation: "BINARY"),
                    Position = table.Column<int>(type: "INTEGER", nullable: false),
                    RecommendationId = table.Column<string>(type: "TEXT", maxLength: 128, nullable: false, collation: "BINARY"),
                    Score = table.Column<double>(type: "REAL", nullable: false),
                    Sources = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false, collation: "BINARY"),
                    UserId = table.Column<long>(type: "INTEGER", nullable: false)
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

            migrationBuilder.Sql("""
                INSERT INTO "RecommendationImpressions" ("RecommendationId", "UserId", "ItemId", "Position", "Score", "Sources", "ModelVersion", "BlendVersion", "CreatedAt")
                SELECT l."RecommendationId", l."UserId", json_extract(j.value, '$.itemId'), j.key, json_extract(j.value, '$.score'),
                       json_extract(j.value, '$.sources'), l."ModelVersion", l."BlendVersion", l."CreatedAt"
                FROM "RecommendationLists" AS l, json_each(l."Items") AS j
                WHERE EXISTS (SELECT 1 FROM "Items" AS i WHERE i."Id" = json_extract(j.value, '$.itemId'))
                ORDER BY l."Id", j.key;
                """);

            migrationBuilder.DropTable(
                name: "RecommendationLists");
        }
    }
}
