// LanguageModels module.
