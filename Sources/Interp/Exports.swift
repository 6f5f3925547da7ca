@_exported import LanguageModels
