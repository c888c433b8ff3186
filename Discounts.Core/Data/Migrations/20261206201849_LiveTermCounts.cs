using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Discounts.Core.Data.Migrations
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
                type: "INTEGER",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.CreateTable(
                name: "TextCorpus",
                columns: table => new
                {
                    Id = table.Column<int>(type: "INTEGER", nullable: false),
                    CountedThroughTextId = table.Column<long>(type: "INTEGER", nullable: false),
                    Documents = table.Column<int>(type: "INTEGER", nullable: false),
                    VocabularyVersion = table.Column<long>(type: "INTEGER", nullable: false),
                    NewTerms = table.Column<int>(type: "INTEGER", nullable: false),
                    TextModelVersion = table.Column<string>(type: "TEXT", maxLength: 128, nullable: false, collation: "BINARY"),
                    UpdatedAt = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_TextCorpus", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "TextTerms",
                columns: table => new
                {
                    Term = table.Column<string>(type: "TEXT", maxLength: 40, nullable: false, collation: "BINARY"),
                    Documents = table.Column<int>(type: "INTEGER", nullable: false),
                    UserBits = table.Column<long>(type: "INTEGER", nullable: false),
                    Admitted = table.Column<bool>(type: "INTEGER", nullable: false),
                    UpdatedAt = table.Column<DateTime>(type: "TEXT", nullable: false)
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
