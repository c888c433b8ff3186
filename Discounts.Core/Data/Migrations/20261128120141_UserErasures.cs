using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Discounts.Core.Data.Migrations
{
    /// <inheritdoc />
    public partial class UserErasures : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "ErasedUsers",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    ExternalIdSha256 = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false, collation: "BINARY"),
                    ErasedAt = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_ErasedUsers", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_ErasedUsers_ExternalIdSha256",
                table: "ErasedUsers",
                column: "ExternalIdSha256");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "ErasedUsers");
        }
    }
}
