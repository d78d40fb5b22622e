// The D1 tables, one file per domain under tables/ (drizzle-kit reads those); code imports them here.
export * from "./tables/audit";
export * from "./tables/compliance";
export * from "./tables/identity";
export * from "./tables/security";
