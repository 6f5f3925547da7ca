import Testing
import LanguageModels
