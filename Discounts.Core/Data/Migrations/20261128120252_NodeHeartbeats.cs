using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Discounts.Core.Data.Migrations
{
    /// <inheritdoc />
    public partial class NodeHeartbeats : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "NodeHeartbeats",
                columns: table => new
                {
                    NodeId = table.Column<string>(type: "TEXT", maxLength: 128, nullable: false, collation: "BINARY"),
                    Roles = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false, collation: "BINARY"),
                    LoadedModelVersionId = table.Column<long>(type: "INTEGER", nullable: true),
                    LoadedModelName = table.Column<string>(type: "TEXT", maxLength: 200, nullable: true, collation: "BINARY"),
                    LoadedSha256 = table.Column<string>(type: "TEXT", maxLength: 64, nullable: true, collation: "BINARY"),
                    StartedAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    LastSeenAt = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_NodeHeartbeats", x => x.NodeId);
                });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "NodeHeartbeats");
        }
    }
}
