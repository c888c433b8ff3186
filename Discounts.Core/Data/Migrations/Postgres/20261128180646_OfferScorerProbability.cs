using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Discounts.Core.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class OfferScorerProbability : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<double>(
                name: "ScorerProbability",
                table: "Offers",
                type: "double precision",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "ScorerVersion",
                table: "Offers",
                type: "character varying(200)",
                maxLength: 200,
                nullable: true,
                collation: "C");

            migrationBuilder.AddCheckConstraint(
                name: "CK_Offers_ScorerProbability",
                table: "Offers",
                sql: "\"ScorerProbability\" BETWEEN 0 AND 1");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropCheckConstraint(
                name: "CK_Offers_ScorerProbability",
                table: "Offers");

            migrationBuilder.DropColumn(
                name: "ScorerProbability",
                table: "Offers");

            migrationBuilder.DropColumn(
                name: "ScorerVersion",
                table: "Offers");
        }
    }
}
