using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Discounts.Core.Data.Migrations
{
    /// <inheritdoc />
    public partial class ProfilingQueueAndTextModels : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "ProfileRefreshRequests",
                columns: table => new
                {
                    UserId = table.Column<long>(type: "INTEGER", nullable: false),
                    RequestedAt = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_ProfileRefreshRequests", x => x.UserId);
                    table.ForeignKey(
                        name: "FK_ProfileRefreshRequests_Users_UserId",
                        column: x => x.UserId,
                        principalTable: "Users",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "TextModels",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    Version = table.Column<string>(type: "TEXT", maxLength: 128, nullable: false, collation: "BINARY"),
                    FittedAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    DocumentCount = table.Column<int>(type: "INTEGER", nullable: false),
                    VocabularySize = table.Column<int>(type: "INTEGER", nullable: false),
                    TopicCount = table.Column<int>(type: "INTEGER", nullable: false),
                    TopicsJson = table.Column<string>(type: "TEXT", nullable: false, collation: "BINARY"),
                    FitSeconds = table.Column<double>(type: "REAL", nullable: false),
                    IsActive = table.Column<bool>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_TextModels", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_TextModels_IsActive",
                table: "TextModels",
                column: "IsActive");

            migrationBuilder.CreateIndex(
                name: "IX_TextModels_Version",
                table: "TextModels",
                column: "Version",
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "ProfileRefreshRequests");

            migrationBuilder.DropTable(
                name: "TextModels");
        }
    }
}
