using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Discounts.Core.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class LiveTermCounts : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<long>(
                name: "VocabularyVersion",
                table: "Profiles",
                type: "bigint",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.CreateTable(
                name: "TextCorpus",
                columns: table => new
                {
                    Id = table.Column<int>(type: "integer", nullable: false),
                    CountedThroughTextId = table.Column<long>(type: "bigint", nullable: false),
                    Documents = table.Column<int>(type: "integer", nullable: false),
                    VocabularyVersion = table.Column<long>(type: "bigint", nullable: false),
                    NewTerms = table.Column<int>(type: "integer", nullable: false),
                    TextModelVersion = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false, collation: "C"),
                    UpdatedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_TextCorpus", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "TextTerms",
                columns: table => new
                {
                    Term = table.Column<string>(type: "character varying(40)", maxLength: 40, nullable: false, collation: "C"),
                    Documents = table.Column<int>(type: "integer", nullable: false),
                    UserBits = table.Column<long>(type: "bigint", nullable: false),
                    Admitted = table.Column<bool>(type: "boolean", nullable: false),
                    UpdatedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_TextTerms", x => x.Term);
                });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "TextCorpus");

            migrationBuilder.DropTable(
                name: "TextTerms");

            migrationBuilder.DropColumn(
                name: "VocabularyVersion",
                table: "Profiles");
        }
    }
}
