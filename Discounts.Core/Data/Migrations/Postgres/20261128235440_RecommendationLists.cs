using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace Discounts.Core.Data.Migrations.Postgres
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
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    RecommendationId = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false, collation: "C"),
                    UserId = table.Column<long>(type: "bigint", nullable: false),
                    ModelVersion = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false, collation: "C"),
                    BlendVersion = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false, collation: "C"),
                    ItemCount = table.Column<int>(type: "integer", nullable: false),
                    Items = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    CreatedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_RecommendationLists", x => x.Id);
                    table.CheckConstraint("CK_RecommendationLists_ItemCount", "\"ItemCount\" >= 0");
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
                       json_agg(json_build_object('itemId', "ItemId", 'score', "Score", 'sources', "Sources") ORDER BY "Position")::text,
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
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    BlendVersion = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false, collation: "C"),
                    CreatedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    ItemId = table.Column<long>(type: "bigint", nullable: false),
                    ModelVersion = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false, collation: "C"),
                    Position = table.Column<int>(type: "integer", nullable: false),
                    RecommendationId = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false, collation: "C"),
                    Score = table.Column<double>(type: "double precision", nullable: false),
                    Sources = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false, collation: "C"),
                    UserId = table.Column<long>(type: "bigint", nullable: false)
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
                SELECT l."RecommendationId", l."UserId", (j.value ->> 'itemId')::bigint, (j.ordinality - 1)::integer, (j.value ->> 'score')::double precision,
                       j.value ->> 'sources', l."ModelVersion", l."BlendVersion", l."CreatedAt"
                FROM "RecommendationLists" AS l
                CROSS JOIN LATERAL json_array_elements(l."Items"::json) WITH ORDINALITY AS j(value, ordinality)
                WHERE EXISTS (SELECT 1 FROM "Items" AS i WHERE i."Id" = (j.value ->> 'itemId')::bigint)
                ORDER BY l."Id", j.ordinality;
                """);

            migrationBuilder.DropTable(
                name: "RecommendationLists");
        }
    }
}
