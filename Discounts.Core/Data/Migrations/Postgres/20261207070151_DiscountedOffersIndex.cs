using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Discounts.Core.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class DiscountedOffersIndex : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateIndex(
                name: "IX_Offers_Discounted_UserId_CreatedAt",
                table: "Offers",
                columns: new[] { "UserId", "CreatedAt" },
                filter: "\"DiscountPercent\" > 0");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_Offers_Discounted_UserId_CreatedAt",
                table: "Offers");
        }
    }
}
